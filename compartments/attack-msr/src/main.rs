//! Attack (DESIGN §6, property 5: privileged state): WRMSR IA32_LSTAR, the 64-bit
//! SYSCALL entry point. Every MSR bitmap bit is set, so the write exits and is refused:
//! `@@FAULT kind=privileged action=wrmsr msr=0xc0000082`.
#![no_std]
#![no_main]

use core::arch::asm;
use core::hint::black_box;

use attack_kit::not_contained;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");
/// IA32_LSTAR (Intel SDM Vol. 4, Table 2-2).
const IA32_LSTAR: u32 = 0xC000_0082;

fn main() -> i32 {
    let value: u64 = black_box(0);
    println!("{NAME}: WRMSR IA32_LSTAR ({IA32_LSTAR:#x}) = {value:#x}");
    // SAFETY: deliberately malicious: WRMSR in L2 must cause a VM exit (MSR bitmaps,
    // Intel SDM Vol. 3C §26.1.3) and be refused. It touches no memory.
    unsafe {
        asm!(
            "wrmsr",
            in("ecx") IA32_LSTAR,
            in("eax") value as u32,
            in("edx") (value >> 32) as u32,
            options(nomem, nostack, preserves_flags),
        );
    }
    not_contained(NAME, format_args!("WRMSR IA32_LSTAR was not refused"))
}
