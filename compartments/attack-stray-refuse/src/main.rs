//! Attack (DESIGN §6 property 9): an invalid gate message must be refused without harm to
//! the receiver, and a refusal is never refused again. This sends a REFUSE to the victim
//! through its own slot, answering nothing: the victim's gate finds it stray and hands the
//! thread to the hypervisor without replying (no ping-pong between the two views), nobody
//! is stopped, and this compartment's own run is aborted (`@@ABORT`).
#![no_std]
#![no_main]

use attack_kit::layout::VICTIM_VIEW;
use attack_kit::{Regs, call_at, not_contained, own_view};
use tessera_sdk::abi::gate;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");

fn main() -> i32 {
    let slot = gate::SLOTS + gate::SLOT_SIZE * own_view();
    println!("{NAME}: an unsolicited REFUSE to the victim through my slot");
    let regs = Regs {
        rcx: VICTIM_VIEW,
        r12: gate::op::REFUSE,
        rbx: gate::status::CALLEE_FAILED,
        ..Regs::default()
    };
    // SAFETY: deliberately malicious; see `call_at`.
    let (rax, rdx) = unsafe { call_at(slot, regs) };
    not_contained(
        NAME,
        format_args!("the refusal came back (rax={rax:#x} status={rdx})"),
    )
}
