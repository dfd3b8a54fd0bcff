//! The `watchdog-budget` scenario's caller: calls `faulty-spin.spin()`, which never
//! returns; the callee's manifest `watchdog=` budget must end the activation, and this
//! call must come back as `CalleeFailed`. Exits 0 then, 1 otherwise.
#![no_std]
#![no_main]

use tessera_sdk::gate::CallError;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

tessera_sdk::import! {
    faulty_spin = "faulty-spin" {
        fn spin() -> u64;
    }
}

fn main() -> i32 {
    match faulty_spin::spin() {
        Err(CallError::CalleeFailed) => {
            println!("spin-caller: faulty-spin.spin() -> CalleeFailed");
            0
        }
        other => {
            println!("spin-caller: faulty-spin.spin() -> {other:?}, expected CalleeFailed");
            1
        }
    }
}
