//! Attack (DESIGN §6, property 3): calls into the gate at `gate::CODE + 0x40`, past its
//! entry checks, posing as a call of `victim.ping`, which this compartment's manifest
//! entry does not permit.
//!
//! In the current gate (hypervisor/kernel/src/gate.rs) CODE + 0x40 is
//! `mov [r12 + 0x10], rsp`, meant to fill a call frame on the state page; with this
//! attacker's R12 = 1 it writes guest-physical 0x11, which no view maps. Expected:
//! `@@FAULT kind=memory gpa=0x11 access=write` (any contained fault of this compartment
//! is fine for another gate); never the victim's answer.
#![no_std]
#![no_main]

use tessera_sdk::abi::gate;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");

fn main() -> i32 {
    attack_kit::gate_jump(NAME, gate::CODE + 0x40)
}
