//! Attack (DESIGN §6, properties 4 and 6): frame the victim. Landing pads are executable
//! in every view's copy of the gate, because a switch from view S continues at S's pad in
//! the target's copy. So this compartment can jump straight to the *victim's* pad in its
//! own copy, without any switch: the gate code then runs in this view believing
//! "source = victim". With R12 = RETURN and no call pending, it reports a gate violation
//! naming the victim as the source.
//!
//! Nothing switched views, so the culprit is this compartment: the hypervisor must stop
//! it (`@@FAULT compartment=attack-pad-jump kind=gate-violation`) and leave the victim
//! alone. A hypervisor that trusts the source the gate reports stops the victim instead;
//! the bystander, which calls the victim afterwards, then gets `CalleeFailed` and exits 1.
#![no_std]
#![no_main]

use attack_kit::layout::VICTIM_VIEW;
use attack_kit::{Regs, call_at, not_contained};
use tessera_sdk::abi::gate;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");

/// Offset of the landing pad in a slot (after the 3 bytes of `VMFUNC` or `int3`).
const LANDING: u64 = 3;

fn main() -> i32 {
    let pad = gate::SLOTS + gate::SLOT_SIZE * VICTIM_VIEW + LANDING;
    println!(
        "{NAME}: jumping to the victim's landing pad at {pad:#x} in my own view, posing as a RETURN from the victim"
    );
    let regs = Regs {
        r12: gate::op::RETURN,
        ..Regs::default()
    };
    // SAFETY: deliberately malicious; the hypervisor must stop this compartment. See
    // `call_at`.
    let (rax, rdx) = unsafe { call_at(pad, regs) };
    not_contained(
        NAME,
        format_args!("the forged return came back (rax={rax:#x} status={rdx})"),
    )
}
