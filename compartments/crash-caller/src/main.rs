//! Calls `faulty-again.crash()` (a victim-faulty instance with `restart = "on-fault"`,
//! `max_restarts = 2`) four times. Every call faults the callee, so each comes back
//! `CalleeFailed`: the first two faults are followed by a restart, the third uses up the
//! limit and stops it for good, and the fourth is refused by its gate without running
//! (three `@@FAULT` lines, two `@@RESTART` lines). Exits 0 if every call failed so.
#![no_std]
#![no_main]

use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

tessera_sdk::import! {
    faulty_again = "faulty-again" {
        fn crash() -> u64;
    }
}

fn main() -> i32 {
    let mut all = true;
    for n in 1..=4 {
        let result = faulty_again::crash();
        println!("crash-caller: call {n} -> {result:?}");
        all &= result == Err(CallError::CalleeFailed);
    }
    if all {
        println!("crash-caller: every call came back CalleeFailed; still running");
    }
    i32::from(!all)
}
