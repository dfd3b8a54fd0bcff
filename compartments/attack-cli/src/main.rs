//! Attack (DESIGN §6 property 10, the watchdog; docs/gates.md "Watchdog", docs/engines.md):
//! a compartment runs at CPL 0 and may execute CLI. Its watchdog must not depend on its IF:
//! VMX stops it with the preemption timer, which ignores IF, and SVM runs guests with
//! V_INTR_MASKING, so the host's IF, not the guest's, lets the local-APIC timer in.
//!
//! Its `main` (manifest `watchdog = 4194304`) executes CLI and loops without an exit:
//! `@@FAULT compartment=attack-cli kind=watchdog budget=4194304`. On Bochs `ryzen` it
//! escapes (Bochs 2.7 masks physical interrupts by the SVM guest's IF): excluded there in
//! tests/tests/everywhere.rs.
#![no_std]
#![no_main]

use core::arch::asm;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");

fn main() -> i32 {
    println!("{NAME}: CLI, then a loop without exits");
    // SAFETY: deliberately hostile: clears IF and spins; the hypervisor must stop it.
    unsafe { asm!("cli", "2:", "jmp 2b", options(noreturn, nomem, nostack)) }
}
