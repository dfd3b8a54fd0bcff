//! The `busy` scenario on vCPU 1: meets the holder inside the board, waits (bounded)
//! until the board says the keeper is held on vCPU 0, calls `keeper.ping()` twice (the
//! serial keeper is busy on another vCPU: `Busy` both times, and nothing stopped), sets
//! the board's `RELEASE` word, waits until the holder says `hold()` returned, and calls
//! `keeper.ping()` again (served now).
//!
//! One line: `@@APP compartment=contender met=M held=H first=F second=S done=D
//! served=V answer=A` (M what `meet()` returned; H, D 1 when it saw the word; F, S, V how
//! the three pings ended; A the last one's answer) and exit 0.
#![no_std]
#![no_main]

use smp_kit::{poll_until, slot, word};
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

tessera_sdk::import! {
    board = "board" {
        fn get(slot: u64) -> u64;
        fn set(slot: u64, value: u64) -> u64;
        fn meet() -> u64;
    }
    keeper = "keeper" {
        fn ping(x: u64) -> u64;
    }
}

fn main() -> i32 {
    let met = board::meet();
    println!(
        "contender: on vCPU {}, board.meet() -> {met:?}",
        tessera_sdk::cpu()
    );
    let held = poll_until(|| board::get(slot::HELD) == Ok(1));
    let first = keeper::ping(7);
    let second = keeper::ping(8);
    println!("contender: keeper held: {held:?}; keeper.ping() -> {first:?}, {second:?}");
    let release = board::set(slot::RELEASE, 1);
    let done = poll_until(|| board::get(slot::DONE) == Ok(1));
    let served = keeper::ping(9);
    println!(
        "contender: released ({release:?}), hold over: {done:?}; keeper.ping(9) -> {served:?}"
    );
    let sent = tessera_sdk::app!(
        met = met.unwrap_or(0),
        held = u8::from(held.is_some()),
        first = word(&first),
        second = word(&second),
        done = u8::from(done.is_some()),
        served = word(&served),
        answer = served.unwrap_or(0),
    );
    i32::from(sent.is_err())
}
