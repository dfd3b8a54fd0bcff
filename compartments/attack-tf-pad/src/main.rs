//! Attack (DESIGN §6 property 9): IRETQ with TF set into its own slot, posing as a call of
//! victim.ping: the slot's VMFUNC runs, and the single-step trap lands on this
//! compartment's landing pad *in the victim's view*. A jump to that pad with TF set gives
//! the very same RIP, so the trap is evidence the victim could have made up: it must be
//! neutralised, never fatal to anyone. The call then arrives at the victim without this
//! compartment's gate having pushed a frame, so the victim's reply finds nothing waiting
//! here, is refused, and that refusal is stray in the victim's view: this compartment's
//! run ends (`@@ABORT`), nobody is stopped, the victim keeps serving.
#![no_std]
#![no_main]

use attack_kit::layout::{VICTIM_VIEW, victim_exports};
use attack_kit::{Regs, iretq_to, own_view};
use tessera_sdk::abi::gate;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");

fn main() -> i32 {
    let slot = gate::SLOTS + gate::SLOT_SIZE * own_view();
    println!("{NAME}: IRETQ with TF into my slot {slot:#x}, calling victim.ping");
    let regs = Regs {
        rcx: VICTIM_VIEW,
        rbx: victim_exports::PING,
        rdi: 0x7F,
        r12: gate::op::CALL,
        ..Regs::default()
    };
    // SAFETY: deliberately malicious; control never comes back here.
    unsafe { iretq_to(slot, regs, 0x202 | 0x100) }
}
