//! Attack (DESIGN §6 property 8, the hypervisor never fails; ABI 3's `DATA_SELECTOR`):
//! the selector the gate loads into DS, ES, FS, GS and SS comes from a word of the state
//! page the view itself may write. A null selector is a legal load at CPL 0 in 64-bit
//! mode (a null SS too), so the gate does not fault: this view then runs, exits to L1 and
//! is entered again with null (unusable) segments, and hands them to whoever L1 or the
//! gate switches to next. The VM entries must still succeed on every engine, and the
//! victim, entered with them, must reload its own.
//!
//! It writes 0 into its own `DATA_SELECTOR`, calls `victim.ping` (the reply's landing
//! loads the null selectors here), checks SS is now 0, prints (VMCALL exits), calls the
//! victim again (the victim's gate runs with this view's null segments until it reloads
//! its own) and exits 0: `attack-null-selector: null segments survived ...`. Nobody is
//! stopped; a failed VM entry would fail the boot.
#![no_std]
#![no_main]

use attack_kit::not_contained;
use core::arch::asm;
use tessera_sdk::abi::gate::{self, state};
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");

tessera_sdk::import! {
    victim {
        fn ping(x: u64) -> u64;
    }
}

fn ss() -> u16 {
    let ss: u16;
    // SAFETY: reads a segment register; no memory, no flags.
    unsafe { asm!("mov {0:x}, ss", out(reg) ss, options(nomem, nostack, preserves_flags)) };
    ss
}

fn main() -> i32 {
    println!("{NAME}: DATA_SELECTOR := 0 in my state page, then calling victim.ping");
    // SAFETY: the state page is this view's own, mapped RW- at its fixed address; an
    // aligned u64 inside it. Only this view's segments change.
    unsafe { ((gate::STATE + state::DATA_SELECTOR) as *mut u64).write_volatile(0) };
    let first = victim::ping(1);
    let after = ss();
    println!("{NAME}: ping -> {first:?}, SS is now {after:#x}");
    let second = victim::ping(2);
    if first != Ok(1) || second != Ok(2) {
        return not_contained(
            NAME,
            format_args!("the victim did not serve me: {first:?} {second:?}"),
        );
    }
    if after != 0 {
        println!("{NAME}: my gate did not load my null selector (SS {after:#x})");
        return 2;
    }
    println!("{NAME}: null segments survived exits and calls (ping 1, 2)");
    0
}
