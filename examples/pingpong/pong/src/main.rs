//! The callee of the round-trip demo: one export, `pong(x) = x + 1`.
#![no_std]
#![no_main]

use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

tessera_sdk::exports! {
    /// Returns `x + 1` (wrapping, so no caller can make it panic).
    fn pong(x: u64) -> u64 {
        x.wrapping_add(1)
    }
}

fn main() -> i32 {
    println!("pong: ready");
    0
}
