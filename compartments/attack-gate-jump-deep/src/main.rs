//! Attack (DESIGN §6, property 3): calls into the gate at `gate::CODE + 0x3e`, past its
//! entry checks, posing as a call of `victim.ping`, which this compartment's manifest
//! entry does not permit.
//!
//! In the current gate (hypervisor/kernel/src/gate.rs) CODE + 0x3e is the caller's path
//! right past its frame push (`mov rbx, rax`; it was CODE + 0x40 before issue 14's
//! gate): whatever arrives in the victim's view is refused there, and the refusal finds
//! nothing waiting in this view: its run is aborted (`@@ABORT`). Any containment of this
//! compartment is fine for another gate; never the victim's answer.
#![no_std]
#![no_main]

use tessera_sdk::abi::gate;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");

fn main() -> i32 {
    attack_kit::gate_jump(NAME, gate::CODE + 0x3e)
}
