//! Attack (DESIGN §6, property 3): calls into the victim's slot in its own copy of the
//! gate (`gate::SLOTS + 16 * victim view`), posing as a call of `victim.ping`, which this
//! compartment's manifest entry does not permit. Only view X's copy has `VMFUNC` at slot
//! X; every other slot is `int3`. Expected: `@@FAULT kind=exception vector=3
//! name=breakpoint`; never the victim's answer.
#![no_std]
#![no_main]

use attack_kit::layout::VICTIM_VIEW;
use tessera_sdk::abi::gate;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");

fn main() -> i32 {
    attack_kit::gate_jump(NAME, gate::SLOTS + gate::SLOT_SIZE * VICTIM_VIEW)
}
