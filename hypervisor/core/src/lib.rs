//! Tessera core: every piece of the hypervisor that can be a pure function.
//!
//! This crate never touches hardware. The kernel crate reads the machine (CPUID, MSRs,
//! multiboot structures, exit information), hands the bytes and values to functions here,
//! and writes back what they decide. Everything here is unit-tested on the host against
//! data recorded from real engines (see `tests/fixtures`).
#![no_std]
#![forbid(unsafe_code)]
// Issue 13's size rule: no function over 80 lines (the threshold is in clippy.toml).
#![deny(clippy::too_many_lines)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod acpi;
pub mod caps;
pub mod cases;
pub mod console;
pub mod contain;
pub mod decode;
pub mod efer;
pub mod exit;
pub mod frames;
pub mod gate;
pub mod guest;
pub mod gva;
pub mod hypercall;
pub mod image;
pub mod layout;
pub mod manifest;
pub mod multiboot;
pub mod outcome;
pub mod paging;
pub mod protocol;
pub mod pte;
pub mod report;
pub mod rflags;
pub mod scan;
pub mod smp;
pub mod svm;
pub mod view_scan;
pub mod vmfunc;
pub mod vmx;
pub mod watchdog;
