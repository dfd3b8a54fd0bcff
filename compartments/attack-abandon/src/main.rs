//! Attack (DESIGN §6 property 9; docs/gates.md "Call buffers"): an honest server must not
//! be made to refuse *other* compartments for ever by a caller that leaves one of its
//! activations behind. Declared in scenario `redteam` as `typed-outer`, the compartment
//! `typed-inner`'s `relay` calls back.
//!
//! Its `main` calls `typed-inner`'s `relay`, whose `&mut self` server is then lent out
//! while `relay` calls `echo` here. `echo` never answers: it ends this `main` from inside
//! the callback (EXIT from the `main`'s own view is the `main`'s exit, not a fault), so
//! `relay`'s activation can never run again and never gives the server back. The next
//! `main` (`typed-after`) calls `relay`: it must be served, not refused with `Busy`.
//! Later calls of `echo` (the `main` is over) answer `late`.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicBool, Ordering};

use tessera_sdk::prelude::*;
use typed_api::echo::Echo;
use typed_api::relay;

tessera_sdk::entry!(main);

/// Set once `main` is over: `echo` then answers.
static MAIN_OVER: AtomicBool = AtomicBool::new(false);

#[derive(Default)]
struct Abandoner;

impl Echo for Abandoner {
    fn echo(&mut self, _text: &str) -> String {
        if MAIN_OVER.swap(true, Ordering::Relaxed) {
            return "late".into();
        }
        println!("attack-abandon: exiting from inside relay's callback, relay's server lent out");
        tessera_sdk::hypercall::exit(0)
    }
}

tessera_sdk::serve!(typed_api::echo, Abandoner);

fn main() -> i32 {
    println!("attack-abandon: calling relay, whose callback ends this main");
    let answer = relay::relay("x");
    // Not reached: `echo` exits.
    println!("attack-abandon: relay answered {answer:?}: the callback did not run");
    2
}
