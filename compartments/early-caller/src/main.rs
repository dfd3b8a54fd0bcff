//! Runs before the victim (it is first in its scenario), so the victim's `main` has not
//! registered its exports yet. A call then must be refused with `NoSuchExport` and leave
//! the victim untouched (before, the gate called address 0 in the victim's view and the
//! victim was stopped for it).
#![no_std]
#![no_main]

use tessera_sdk::gate::CallError;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

tessera_sdk::import! {
    victim {
        fn ping(x: u64) -> u64;
    }
}

fn main() -> i32 {
    match victim::ping(7) {
        Err(CallError::NoSuchExport) => {
            println!("early-caller: victim.ping before its registration -> NoSuchExport");
            0
        }
        other => {
            println!("early-caller: victim.ping before its registration -> {other:?}");
            1
        }
    }
}
