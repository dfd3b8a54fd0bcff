//! Calls tf-panic's `panic_path` and tf-fault's `fault_path` (attack-tf-callee). Each is
//! stopped while a single-step trap is pending; this compartment must get `CalleeFailed`
//! twice and go on — the trap must not follow it back — then check the victim.
#![no_std]
#![no_main]

use tessera_sdk::gate::CallError;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

tessera_sdk::import! {
    tf_panic = "tf-panic" {
        fn panic_path() -> u64;
    }
    tf_fault = "tf-fault" {
        fn fault_path() -> u64;
    }
    victim {
        fn ping(x: u64) -> u64;
    }
}

fn main() -> i32 {
    let panic = tf_panic::panic_path();
    let fault = tf_fault::fault_path();
    println!("tf-caller: panic_path -> {panic:?}, fault_path -> {fault:?}");
    if panic != Err(CallError::CalleeFailed) || fault != Err(CallError::CalleeFailed) {
        return 1;
    }
    match victim::ping(3) {
        Ok(3) => {
            println!("tf-caller: no trap followed me back; all fine");
            0
        }
        other => {
            println!("tf-caller: victim.ping -> {other:?}");
            1
        }
    }
}
