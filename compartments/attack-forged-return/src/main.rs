//! Attack (DESIGN §6, property 4): a RETURN into the victim with no call pending. It
//! goes through its own gate slot, the only place a switch out of its view can happen:
//! EAX = 0, ECX = the victim's view, R12 = RETURN. The victim's view lands on the pad of
//! this compartment's slot ("source = attacker"); the victim has no outgoing call to the
//! attacker pending, so the gate must report a violation by the attacker
//! (GATE_VIOLATION, reason RETURN_WITHOUT_CALL) and the hypervisor stop it.
#![no_std]
#![no_main]

use attack_kit::layout::VICTIM_VIEW;
use attack_kit::{Regs, call_at, not_contained, own_view};
use tessera_sdk::abi::gate;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");

fn main() -> i32 {
    let me = own_view();
    let slot = gate::SLOTS + gate::SLOT_SIZE * me;
    println!(
        "{NAME}: RETURN into the victim (view {VICTIM_VIEW}) through my own slot {me} at {slot:#x}, no call pending"
    );
    let regs = Regs {
        rax: 0,
        rcx: VICTIM_VIEW,
        rdx: gate::status::OK,
        r11: VICTIM_VIEW,
        r12: gate::op::RETURN,
        ..Regs::default()
    };
    // SAFETY: deliberately malicious (property 4); the hypervisor must stop this
    // compartment. See `call_at`.
    let (rax, rdx) = unsafe { call_at(slot, regs) };
    not_contained(
        NAME,
        format_args!(
            "the forged return came back (rax={rax:#x} status={rdx}) instead of stopping me"
        ),
    )
}
