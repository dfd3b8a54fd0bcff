//! Attack (DESIGN §6, property 3): calls into the gate at `gate::CODE + 1`, one byte into
//! the common gate code, posing as a call of `victim.ping`, which this compartment's
//! manifest entry does not permit.
//!
//! In the current gate (hypervisor/kernel/src/gate.rs) CODE + 1 skips only the first
//! `push rbx` and runs the whole call path, so the permission check in the victim's view
//! refuses the call (status NOT_PERMITTED); the epilogue then pops one word more than was
//! pushed, which `attack_kit::call_at` survives. Expected: `refused` with status 3 and
//! exit 0 (a different gate may instead stop this compartment: any contained fault is
//! fine); never the victim's answer.
#![no_std]
#![no_main]

use tessera_sdk::abi::gate;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");

fn main() -> i32 {
    attack_kit::gate_jump(NAME, gate::CODE + 1)
}
