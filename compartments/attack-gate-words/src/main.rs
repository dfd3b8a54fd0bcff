//! Attack (DESIGN §6 properties 2 and 9; docs/gates.md "Layout", ABI 3): the gate reads
//! two words of the state page that the view itself may write — `IDLE_RSP` (`RSPS[-1]`,
//! the stack a call starts on when the view is idle) and `DATA_SELECTOR` (loaded into
//! DS, ES, FS, GS and SS at every landing). Rewriting them must change only this view's
//! own stack and segments, or make its own gate fault: never the victim's.
//!
//! It points its `IDLE_RSP` at the victim's first page and puts a selector past the GDT's
//! limit in its `DATA_SELECTOR`, then calls `victim.ping`. The victim's gate reads its own
//! words: it serves the call. The reply lands in this view's gate, whose `mov ds` of the
//! bogus selector faults: `@@FAULT compartment=attack-gate-words kind=exception
//! vector=13`, this compartment stopped for its own gate acting on its own page; the
//! victim is not (the bystander is served afterwards). If the call came back, the gate
//! did not load the selector: `not contained`, exit 1.
#![no_std]
#![no_main]

use attack_kit::layout::VICTIM_BASE;
use attack_kit::not_contained;
use tessera_sdk::abi::gate::{self, state};
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");
/// Index 0x1FFF of the GDT, RPL 0: far past the guest GDT's limit.
const BOGUS_SELECTOR: u64 = 0xFFF8;

tessera_sdk::import! {
    victim {
        fn ping(x: u64) -> u64;
    }
}

fn set_state_word(offset: u64, value: u64) {
    // SAFETY: the state page is this view's own, mapped RW- at its fixed address; an
    // aligned u64 inside it. Corrupting it is the attack: only this view may suffer.
    unsafe { ((gate::STATE + offset) as *mut u64).write_volatile(value) };
}

fn main() -> i32 {
    println!(
        "{NAME}: IDLE_RSP := {VICTIM_BASE:#x} (the victim's), DATA_SELECTOR := {BOGUS_SELECTOR:#x}, then calling victim.ping"
    );
    set_state_word(state::IDLE_RSP, VICTIM_BASE + 0x1000);
    set_state_word(state::DATA_SELECTOR, BOGUS_SELECTOR);
    let answer = victim::ping(0x600D);
    not_contained(
        NAME,
        format_args!(
            "victim.ping answered {answer:?} through a gate that loads selector {BOGUS_SELECTOR:#x}"
        ),
    )
}
