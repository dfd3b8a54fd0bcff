//! Calls the failing exports of three victim-faulty instances (DESIGN §6, property 6).
//! Each call must come back as `CallError::CalleeFailed` while this compartment keeps
//! running; a second call to the crashed callee must be refused the same way (it is
//! marked failed). Exits 0 if all four calls did that, 1 otherwise.
#![no_std]
#![no_main]

use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

tessera_sdk::import! {
    faulty_crash = "faulty-crash" {
        fn crash() -> u64;
    }
    faulty_overflow = "faulty-overflow" {
        fn overflow() -> u64;
    }
    faulty_spin = "faulty-spin" {
        fn spin() -> u64;
    }
}

fn main() -> i32 {
    let results = [
        expect_failed("faulty-crash.crash()", faulty_crash::crash()),
        expect_failed("faulty-overflow.overflow()", faulty_overflow::overflow()),
        expect_failed("faulty-spin.spin()", faulty_spin::spin()),
        expect_failed("faulty-crash.crash() again", faulty_crash::crash()),
    ];
    if results.iter().all(|ok| *ok) {
        println!("caller: every failure came back as CalleeFailed; still running");
        0
    } else {
        1
    }
}

fn expect_failed(what: &str, result: Result<u64, CallError>) -> bool {
    match result {
        Err(CallError::CalleeFailed) => {
            println!("caller: {what} -> CalleeFailed");
            true
        }
        other => {
            println!("caller: {what} -> {other:?}, expected Err(CalleeFailed)");
            false
        }
    }
}
