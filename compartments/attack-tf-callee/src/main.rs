//! Attack (DESIGN §6 property 9): a callee sets TF, then `MOV SS` (which holds the
//! single-step trap back for one instruction), then an instruction that exits: the trap is
//! parked in the VMCS pending-debug-exceptions field. The hypervisor stops this
//! compartment; if it resumed the caller without clearing that field, the trap would fire
//! in the caller at the gate's return path and stop the innocent caller.
//!
//! | export | the exiting instruction |
//! |---|---|
//! | `panic_path()` | VMCALL PANIC |
//! | `fault_path()` | a read of unmapped memory (guest-physical 0x1000) |
#![no_std]
#![no_main]

use attack_kit::not_contained;
use core::arch::asm;
use tessera_sdk::abi::hypercall;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");

tessera_sdk::exports! {
    /// TF, MOV SS, VMCALL PANIC.
    fn panic_path() -> u64 {
        println!("{NAME}: TF + MOV SS + VMCALL PANIC");
        // SAFETY: deliberately ends this compartment (PANIC); the message pointer and
        // length are zero (an unreadable message is reported as such).
        unsafe {
            asm!(
                "pushfq",
                "or qword ptr [rsp], 0x100",
                "popfq",
                "mov ss, {ss:e}",
                "vmcall",
                ss = in(reg) 0x10u32,
                inout("rax") hypercall::PANIC => _,
                in("rdi") 0u64,
                in("rsi") 0u64,
            );
        }
        not_contained(NAME, format_args!("PANIC returned")) as u64
    }

    /// TF, MOV SS, a read of unmapped memory.
    fn fault_path() -> u64 {
        println!("{NAME}: TF + MOV SS + a read of unmapped memory");
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
        not_contained(NAME, format_args!("the unmapped read returned")) as u64
    }
}

fn main() -> i32 {
    0
}
