//! Runs before the victim (it is first in its scenario), so the victim's `main` has not
//! run yet. Exports come from the victim's image (its export table, written into its info
//! page at load), so the call is served: `ping(7)` answers 7. (Before the export table,
//! exports were registered by the callee's `main`: the gate first called address 0 in
//! the victim's view, stopping the victim, then refused such a call with NoSuchExport.)
#![no_std]
#![no_main]

use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

tessera_sdk::import! {
    victim {
        fn ping(x: u64) -> u64;
    }
}

fn main() -> i32 {
    match victim::ping(7) {
        Ok(7) => {
            println!("early-caller: victim.ping before the victim's main ran -> Ok(7)");
            0
        }
        other => {
            println!("early-caller: victim.ping before the victim's main ran -> {other:?}");
            1
        }
    }
}
