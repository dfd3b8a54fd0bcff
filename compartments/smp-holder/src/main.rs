//! The `busy` scenario on vCPU 0: meets the contender inside the board (both vCPUs in
//! the parallel board at once), then calls `keeper.hold()`, which keeps the serial
//! keeper busy on this vCPU until the contender releases it, then sets the board's
//! `DONE` word.
//!
//! One line: `@@APP compartment=holder met=M hold=H released=R` (M what `meet()`
//! returned, 0 for an error; H how `hold()` ended; R its answer: 1 when it was released)
//! and exit 0.
#![no_std]
#![no_main]

use smp_kit::{slot, word};
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

tessera_sdk::import! {
    board = "board" {
        fn set(slot: u64, value: u64) -> u64;
        fn meet() -> u64;
    }
    keeper = "keeper" {
        fn hold() -> u64;
    }
}

fn main() -> i32 {
    let met = board::meet();
    println!(
        "holder: on vCPU {}, board.meet() -> {met:?}",
        tessera_sdk::cpu()
    );
    let hold = keeper::hold();
    let done = board::set(slot::DONE, 1);
    println!("holder: keeper.hold() -> {hold:?}, board.set(DONE) -> {done:?}");
    let sent = tessera_sdk::app!(
        met = met.unwrap_or(0),
        hold = word(&hold),
        released = hold.unwrap_or(0),
    );
    i32::from(sent.is_err() || done.is_err())
}
