//! typed-outer (scenario typed-reentrant, see its tessera.toml): its main calls
//! typed-inner's `relay`, which calls back into `echo` here, which calls typed-inner's
//! `leaf.mark` over the same edge and then `relay` again (refused: Busy). It reports
//! `@@APP compartment=typed-outer answer=... ok=true|false` and exits 0 if the answer is
//! whole.
#![no_std]
#![no_main]

use tessera_sdk::prelude::*;
use typed_api::echo::Echo;
use typed_api::{leaf, relay};

tessera_sdk::entry!(main);

#[derive(Default)]
struct Echoer;

impl Echo for Echoer {
    fn echo(&mut self, text: &str) -> String {
        let marked = match leaf::mark(text) {
            Ok(s) => s,
            Err(e) => format!("mark failed: {e:?}"),
        };
        let again = relay::relay("again");
        format!("{marked}|{again:?}")
    }
}

tessera_sdk::serve!(typed_api::echo, Echoer);

const EXPECTED: &str = "relay([x>inner]|Err(Rejected(Busy)))";

fn main() -> i32 {
    let answer = match relay::relay("x") {
        Ok(s) => s,
        Err(e) => format!("relay failed: {e:?}"),
    };
    println!("typed-outer: {answer}");
    let ok = answer == EXPECTED;
    let _ = tessera_sdk::app!(answer = answer, ok = ok);
    i32::from(!ok)
}
