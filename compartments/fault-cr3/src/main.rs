//! Attack: load CR3 (switch the guest page tables). Expected: the write exits to the
//! hypervisor (CR3-load exiting) and is refused; the compartment is stopped.
#![no_std]
#![no_main]

use core::arch::asm;
use core::hint::black_box;

use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

fn main() -> i32 {
    // Page tables at 0: whatever lies there, a compartment must not make it its paging root.
    let root: u64 = black_box(0);
    println!("fault-cr3: writing CR3 = {root:#x}");
    // SAFETY: deliberately malicious: MOV to CR3 at CPL0 in L2 must cause a VM exit
    // (Intel SDM Vol. 3C §26.1.3, CR3-load exiting) and be refused. Runs contained in L2.
    unsafe { asm!("mov cr3, {}", in(reg) root, options(nostack)) };
    println!("fault-cr3: CR3 write was not refused: not contained");
    1
}
