//! Attack (DESIGN §6 property 9) from the bottom of app → lib → plugin, with the views in
//! the deep-blame scenario's order: deep-lib is view 0, this plugin view 1, deep-app view 2
//! (the callees come first so their `main`s register their exports before the app calls).
//! `work(mode)`:
//!
//! 1. sends a forged RETURN (result 0x6EAD) straight to the app through its own slot;
//! 2. raises GATE_VIOLATION naming the app (RDI = 0) as the culprit;
//! 3. clears its own call stack (state page DEPTH = 0), then raises GATE_VIOLATION
//!    naming its caller, deep-lib;
//! 4. jumps to the app's code address (the app's region) in its own view.
//!
//! Each must leave the app and the lib running: 1–3 only end this activation (deep-lib's
//! call fails), 4 faults in this view and stops this compartment. In a hypervisor that
//! believed any of it, the app or the lib would be stopped.
#![no_std]
#![no_main]

use attack_kit::{Regs, call_at, not_contained, own_view};
use core::arch::asm;
use core::ptr;
use tessera_sdk::abi::{gate, hypercall};
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");
/// deep-app's view (third in the scenario).
const APP_VIEW: u64 = 2;
/// deep-lib's view.
const LIB_VIEW: u64 = 0;
/// An address in deep-app's code: the third region (deep-lib's and this compartment's
/// regions take 2 MiB each, attack_kit::layout).
const APP_CODE: u64 =
    attack_kit::layout::REGIONS_BASE + 2 * attack_kit::layout::REGION_ALIGN + 0x1000;

tessera_sdk::exports! {
    /// One attack per mode (see the module docs).
    fn work(mode: u64) -> u64 {
        attack(mode)
    }
}

fn violation(culprit: u64, reason: u64) {
    // SAFETY: the GATE_VIOLATION hypercall reads registers only; what it claims is the
    // attack (it names no culprit any more: RDI is ignored).
    unsafe {
        asm!(
            "vmcall",
            inout("rax") hypercall::GATE_VIOLATION => _,
            in("rdi") culprit,
            in("rsi") reason,
            options(nostack),
        );
    }
}

fn attack(mode: u64) -> u64 {
    let me = own_view();
    match mode {
        1 => {
            println!("{NAME}: forged RETURN straight to the app (view {APP_VIEW})");
            let regs = Regs {
                rcx: APP_VIEW,
                r12: gate::op::RETURN,
                r13: 0x6EAD,
                ..Regs::default()
            };
            // SAFETY: deliberately malicious; see `call_at`.
            unsafe { call_at(gate::SLOTS + gate::SLOT_SIZE * me, regs) };
        }
        2 => {
            println!("{NAME}: GATE_VIOLATION naming the app");
            violation(APP_VIEW, gate::violation::STRAY);
        }
        3 => {
            println!("{NAME}: clearing my call stack, then GATE_VIOLATION naming deep-lib");
            // SAFETY: this view's own state page (read-write in this view only).
            unsafe { ptr::write_volatile((gate::STATE + gate::state::DEPTH) as *mut u64, 0) };
            violation(LIB_VIEW, gate::violation::STRAY);
        }
        4 => {
            println!("{NAME}: jumping to the app's code at {APP_CODE:#x} in my own view");
            // SAFETY: deliberately faulting: nothing is executable there in this view.
            unsafe { asm!("jmp {}", in(reg) APP_CODE, options(noreturn)) };
        }
        _ => return 0,
    }
    not_contained(NAME, format_args!("mode {mode} came back")) as u64
}

fn main() -> i32 {
    0
}
