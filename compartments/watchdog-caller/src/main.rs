//! Calls spinner's `exit_loop`, which loops on CPUID. Each iteration exits to the
//! hypervisor; a watchdog that only bounded the time between exits would never stop it.
//! The call must return `CalleeFailed` (the spinner stopped by its watchdog within twice
//! its budget, `@@FAULT kind=watchdog budget=N used=M`), and this compartment goes on.
#![no_std]
#![no_main]

use tessera_sdk::gate::CallError;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

tessera_sdk::import! {
    spinner {
        fn exit_loop() -> u64;
    }
}

fn main() -> i32 {
    match spinner::exit_loop() {
        Err(CallError::CalleeFailed) => {
            println!("watchdog-caller: spinner.exit_loop -> CalleeFailed");
            0
        }
        other => {
            println!("watchdog-caller: spinner.exit_loop -> {other:?}");
            1
        }
    }
}
