//! Attack: clear IA32_EFER (would drop LME/LMA and NXE). Expected: WRMSR exits to the
//! hypervisor (every MSR bitmap bit is set) and is refused; the compartment is stopped.
#![no_std]
#![no_main]

use core::arch::asm;
use core::hint::black_box;

use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

/// IA32_EFER (Intel SDM Vol. 4, Table 2-2).
const IA32_EFER: u32 = 0xC000_0080;

fn main() -> i32 {
    let value: u64 = black_box(0);
    println!("fault-wrmsr: writing IA32_EFER = {value:#x}");
    // SAFETY: deliberately malicious: WRMSR at CPL0 in L2 must cause a VM exit (Intel SDM
    // Vol. 3C §26.1.3, MSR bitmaps) and be refused. Runs contained in L2.
    unsafe {
        asm!(
            "wrmsr",
            in("ecx") IA32_EFER,
            in("eax") value as u32,
            in("edx") (value >> 32) as u32,
            options(nostack),
        );
    }
    println!("fault-wrmsr: EFER write was not refused: not contained");
    1
}
