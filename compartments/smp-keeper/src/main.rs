//! The `busy` scenario's keeper: a `serial` compartment. `hold()` sets the board's
//! `HELD` word, then polls the board's `RELEASE` word until it is set (bounded:
//! `smp_kit::POLLS`) and returns 1 if it was, 0 if not. While it runs, the keeper has a
//! frame on its caller's vCPU, so its gate answers a call from any other vCPU with
//! `BUSY`. `ping(x)` returns `x`.
#![no_std]
#![no_main]

use smp_kit::{poll_until, slot};
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

tessera_sdk::import! {
    board = "board" {
        fn get(slot: u64) -> u64;
        fn set(slot: u64, value: u64) -> u64;
    }
}

tessera_sdk::exports! {
    /// Busy on this vCPU until the board says release: 1, or 0 if it never did.
    fn hold() -> u64 {
        if board::set(slot::HELD, 1).is_err() {
            return 0;
        }
        u64::from(poll_until(|| board::get(slot::RELEASE) == Ok(1)).is_some())
    }
    /// `x`.
    fn ping(x: u64) -> u64 {
        x
    }
}

fn main() -> i32 {
    println!("smp-keeper: ready (hold, ping)");
    0
}
