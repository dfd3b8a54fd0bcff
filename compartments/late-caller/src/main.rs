//! Calls exit-five's `crash` after exit-five's `main` exited with 5: the call must return
//! `CalleeFailed`, and exit-five's outcome becomes the fault.
#![no_std]
#![no_main]

use tessera_sdk::gate::CallError;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

tessera_sdk::import! {
    exit_five = "exit-five" {
        fn crash() -> u64;
    }
}

fn main() -> i32 {
    match exit_five::crash() {
        Err(CallError::CalleeFailed) => {
            println!("late-caller: exit-five.crash -> CalleeFailed");
            0
        }
        other => {
            println!("late-caller: exit-five.crash -> {other:?}");
            1
        }
    }
}
