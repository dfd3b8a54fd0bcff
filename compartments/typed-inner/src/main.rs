//! typed-inner (scenario typed-reentrant): serves `relay`, which calls typed-outer's
//! `echo` back before it answers, and `leaf`, which typed-outer calls from inside that
//! `echo`, over the edge the pending `relay` call came in on.
#![no_std]
#![no_main]

use tessera_sdk::prelude::*;
use typed_api::echo;
use typed_api::leaf::Leaf;
use typed_api::relay::Relay;

tessera_sdk::entry!(main);

#[derive(Default)]
struct Relayer;

impl Relay for Relayer {
    fn relay(&mut self, text: &str) -> String {
        // `text` is this call's own copy: the nested calls below may overwrite the call
        // buffer it came in.
        let inner = format!("{text}>inner");
        let echoed = match echo::echo(&inner) {
            Ok(s) => s,
            Err(e) => format!("echo failed: {e:?}"),
        };
        format!("relay({echoed})")
    }
}

#[derive(Default)]
struct Marker;

impl Leaf for Marker {
    fn mark(&mut self, text: &str) -> String {
        format!("[{text}]")
    }
}

tessera_sdk::serve!(typed_api::relay, Relayer);
tessera_sdk::serve!(typed_api::leaf, Marker);

fn main() {
    println!("typed-inner: ready");
}
