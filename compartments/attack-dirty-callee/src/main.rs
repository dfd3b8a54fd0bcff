//! Attack (DESIGN §6 property 7, the reverse direction): a callee that returns to its
//! caller with DF = 1 and AC = 1, null selectors in DS, ES, FS and GS, and a value in CR2.
//! The caller's gate must restore RFLAGS = 0x202, the data segments and CR2 = 0 before
//! the caller's code runs again (attack-flags checks it).
#![no_std]
#![no_main]

use core::arch::global_asm;

tessera_sdk::entry!(main);

/// What it leaves in CR2.
pub const CR2_SECRET: u64 = 0xD1_27C2_5EC2;

global_asm!(
    ".pushsection .text.dirty_return,\"ax\",@progbits",
    ".globl dirty_return",
    ".hidden dirty_return",
    ".p2align 4",
    "dirty_return:",
    "mov rax, {secret}",
    "mov cr2, rax",
    "xor eax, eax",
    "mov ds, eax",
    "mov es, eax",
    "mov fs, eax",
    "mov gs, eax",
    "pushfq",
    "or qword ptr [rsp], {dirty}",
    "popfq",
    "mov eax, 7",
    "ret",
    ".popsection",
    secret = const CR2_SECRET,
    dirty = const (1 << 10) | (1 << 18),
);

unsafe extern "C" {
    /// Defined in the `global_asm!` above.
    fn dirty_return();
}

tessera_sdk::exports_raw! {
    // SAFETY: dirty_return keeps RBX, RBP, RSP and R12–R15 and returns with `ret`; what
    // it leaves in RFLAGS, the segment registers and CR2 is the attack on its caller.
    unsafe dirty = dirty_return;
}

fn main() -> i32 {
    0
}
