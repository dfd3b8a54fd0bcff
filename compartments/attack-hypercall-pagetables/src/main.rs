//! Attack (issue 10, hypercall buffers): hands L1 the guest page tables as a buffer. They
//! have no guest-virtual address (no load or store of the compartment can reach them),
//! but their guest-physical pages are readable in every view, because the CPU's own page
//! walks need that. A hypercall that checked its buffer as guest-physical would read them
//! for the compartment: CONSOLE_WRITE would print them.
//!
//! Expected: every buffer that touches them is refused with BAD_POINTER, because L1
//! translates buffers through the guest page tables first (as the CPU would); exit 0.
//! Any call that takes them: `not contained`, exit 1.
#![no_std]
#![no_main]

use attack_kit::layout::PAGE_TABLES;
use attack_kit::not_contained;
use tessera_sdk::abi::{error, hypercall as nr};
use tessera_sdk::hypercall::hypercall;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");

fn main() -> i32 {
    println!("{NAME}: passing the guest page tables at {PAGE_TABLES:#x} as buffers");
    let attempts = [
        (
            "CONSOLE_WRITE of the PML4",
            nr::CONSOLE_WRITE,
            PAGE_TABLES,
            64,
        ),
        (
            "CONSOLE_WRITE of a range ending in the PML4",
            nr::CONSOLE_WRITE,
            PAGE_TABLES - 32,
            64,
        ),
        (
            "CONSOLE_WRITE of the page-table page of the first 2 MiB",
            nr::CONSOLE_WRITE,
            PAGE_TABLES + 0x6000,
            4096,
        ),
        ("REPORT of the PML4", nr::REPORT, PAGE_TABLES, 16),
        ("GRANT named by the PML4", nr::GRANT, PAGE_TABLES, 8),
    ];
    for (what, number, ptr, len) in attempts {
        // SAFETY: deliberately malicious: `ptr` is not this compartment's memory (it has
        // no guest-virtual mapping at all); the hypervisor must refuse to read it. None
        // of these hypercalls writes memory.
        let ret = unsafe { hypercall(number, ptr, len, 0, 0, 0, 0) };
        if ret != error::BAD_POINTER {
            return not_contained(NAME, format_args!("{what} -> {ret}, not BAD_POINTER"));
        }
    }
    println!("{NAME}: every page-table buffer refused");
    0
}
