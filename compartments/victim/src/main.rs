//! The victim of the attack scenarios. Listed first in every scenario, so it is view 0
//! and its image starts at the first region (attack-kit's `layout`). It holds a secret
//! in its own memory and exports:
//!
//! | index | export | returns |
//! |---|---|---|
//! | 0 | `secret_len()` | the secret's length (never the secret) |
//! | 1 | `ping(x)` | `x` |
//! | 2 | `regs_probe()` | how many of RBX, RBP, R12–R15, RAX, R10, R11 held [`CALLER_REGS_PATTERN`] on entry; leaves [`VICTIM_REGS_PATTERN`] in RCX, RDX, RSI, RDI, R8–R11 |
//!
//! `regs_probe` is assembly: it is the victim's half of the register-scrubbing check
//! (attack-scrub), which must see exactly what crosses the gate.
#![no_std]
#![no_main]

use core::arch::global_asm;
use core::hint::black_box;
use core::sync::atomic::{AtomicU64, Ordering};

use attack_kit::{CALLER_REGS_PATTERN, VICTIM_REGS_PATTERN};
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

/// What the attacks are after. It is in this image's read-only data, inside the
/// victim's region, which no other view maps.
static SECRET: [u8; 40] = *b"victim secret: correct horse battery st.";

tessera_sdk::exports! {
    /// The secret's length: proof the victim can be called, without giving anything away.
    fn secret_len() -> u64 {
        // black_box keeps the secret in the image rather than folding its length.
        black_box(&SECRET).len() as u64
    }

    /// Returns its argument.
    fn ping(x: u64) -> u64 {
        x
    }
}

/// The registers `regs_probe` found on entry: RBX, RBP, R12, R13, R14, R15, RAX, R10, R11.
static ENTRY_REGS: [AtomicU64; 9] = [const { AtomicU64::new(0) }; 9];

/// How many of [`ENTRY_REGS`] hold the caller's pattern: registers the gate should have
/// scrubbed (or replaced) before calling into this view.
extern "C" fn count_caller_pattern() -> u64 {
    ENTRY_REGS
        .iter()
        .filter(|r| r.load(Ordering::Relaxed) == CALLER_REGS_PATTERN)
        .count() as u64
}

// regs_probe: records the registers it was entered with, counts the caller's pattern in
// them (the result, in RAX), and returns with VICTIM_REGS_PATTERN in every other register
// the System V ABI lets a function change. RBX, RBP, R12–R15 are only read, so the ABI
// holds. Entered with RSP ≡ 8 (mod 16) like any function, so the `call` realigns first.
global_asm!(
    ".pushsection .text.victim_regs_probe,\"ax\",@progbits",
    ".globl victim_regs_probe",
    ".hidden victim_regs_probe",
    ".p2align 4",
    "victim_regs_probe:",
    "mov [rip + {regs}], rbx",
    "mov [rip + {regs} + 8], rbp",
    "mov [rip + {regs} + 16], r12",
    "mov [rip + {regs} + 24], r13",
    "mov [rip + {regs} + 32], r14",
    "mov [rip + {regs} + 40], r15",
    "mov [rip + {regs} + 48], rax",
    "mov [rip + {regs} + 56], r10",
    "mov [rip + {regs} + 64], r11",
    "sub rsp, 8",
    "call {count}",
    "add rsp, 8",
    "movabs rcx, {pattern}",
    "mov rdx, rcx",
    "mov rsi, rcx",
    "mov rdi, rcx",
    "mov r8, rcx",
    "mov r9, rcx",
    "mov r10, rcx",
    "mov r11, rcx",
    "ret",
    ".popsection",
    regs = sym ENTRY_REGS,
    count = sym count_caller_pattern,
    pattern = const VICTIM_REGS_PATTERN,
);

unsafe extern "C" {
    /// Defined in the `global_asm!` above.
    fn victim_regs_probe();
}

tessera_sdk::exports_raw! {
    // SAFETY: victim_regs_probe may be entered at any time with any argument registers
    // (it reads none), writes only ENTRY_REGS (atomics nothing else references as plain
    // data) and calls a System V function with the stack realigned; it keeps RBX, RBP,
    // RSP and R12–R15 and returns with `ret`.
    unsafe regs_probe = victim_regs_probe;
}

fn main() -> i32 {
    println!(
        "victim: holding a {}-byte secret; exports secret_len, ping, regs_probe",
        black_box(&SECRET).len()
    );
    0
}
