//! The `attack` scenario's first main on vCPU 1: polls `victim.inside()` until the waiter
//! is inside the victim's `spin()` on vCPU 0, so that the attackers that run after it on
//! this vCPU attack while vCPU 0 is inside the victim.
//!
//! One line: `@@APP compartment=lookout seen=S` (1 when it saw the waiter inside) and
//! exit 0.
#![no_std]
#![no_main]

use smp_kit::poll_until;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

tessera_sdk::import! {
    victim = "victim" {
        fn inside() -> u64;
    }
}

fn main() -> i32 {
    let seen = poll_until(|| victim::inside() == Ok(1));
    println!(
        "lookout: on vCPU {}, waiter inside the victim: {seen:?}",
        tessera_sdk::cpu()
    );
    let sent = tessera_sdk::app!(seen = u8::from(seen.is_some()));
    i32::from(sent.is_err())
}
