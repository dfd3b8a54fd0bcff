//! Attack (DESIGN §6 properties 8 and 9): single-step traps a compartment leaves pending
//! across an exit. First TF + `MOV SS` + CPUID: the trap is held back past the CPUID exit
//! (on Bochs' SVM it was delivered to L1 itself, which died of it). It must cost nothing:
//! single-step is never fatal, and the hypervisor survives a stray #DB. Then TF, `MOV SS`
//! and a read of unmapped memory: the read faults and this compartment is stopped
//! (`@@FAULT kind=memory`), nothing else; the boot goes on.
#![no_std]
#![no_main]

use attack_kit::not_contained;
use core::arch::asm;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");

fn main() -> i32 {
    println!("{NAME}: TF + MOV SS + CPUID");
    // SAFETY: CPUID writes EAX, ECX, EDX (declared) and EBX (saved and restored around
    // it); TF is this attack (the single-step trap is the hypervisor's to absorb); SS is
    // reloaded with its own value.
    unsafe {
        asm!(
            "push rbx",
            "pushfq",
            "or qword ptr [rsp], 0x100",
            "popfq",
            "mov ss, {ss:e}",
            "cpuid",
            "pushfq",
            "and qword ptr [rsp], -257",
            "popfq",
            "pop rbx",
            ss = in(reg) 0x10u32,
            inout("eax") 0u32 => _,
            out("ecx") _,
            out("edx") _,
        );
    }
    println!("{NAME}: still here, and so is the hypervisor; now TF + MOV SS + an unmapped read");
    // SAFETY: deliberately faulting: guest-physical 0x1000 is mapped in no view.
    unsafe {
        asm!(
            "pushfq",
            "or qword ptr [rsp], 0x100",
            "popfq",
            "mov ss, {ss:e}",
            "mov rax, [0x1000]",
            ss = in(reg) 0x10u32,
            out("rax") _,
        );
    }
    not_contained(NAME, format_args!("the unmapped read returned"))
}
