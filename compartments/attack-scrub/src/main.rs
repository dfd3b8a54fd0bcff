//! Check (DESIGN §6, property 7): registers are scrubbed across a gate call both ways,
//! except arguments and results, and callee-saved registers survive.
//!
//! It calls `victim.regs_probe` (permitted) with its own code for the call, so it sees
//! every register:
//! - before: RBX, RBP, R12–R14 = [`CALLER_REGS_PATTERN`] (R15 holds the result buffer);
//!   the probe counts how many registers it found holding that pattern on entry
//!   (RBX, RBP, R12–R15, RAX, R10, R11) and returns the count: it must be 0.
//! - after: the probe left [`VICTIM_REGS_PATTERN`] in RCX, RDX, RSI, RDI, R8–R11; none
//!   of them, nor R12–R14 (which the gate does not preserve since ABI 3: R12 and R13
//!   carry the reply's op and result, R14 what this call carried in it since ABI 4),
//!   may hold it (RDX is the gate's status), and RBX and RBP must hold the caller's
//!   pattern again.
//!
//! Vector, x87 and flag state are not checked: compartments are built without SSE.
//! Exit 0: scrubbed; `not contained` (exit 1): a register leaked; exit 2: the call
//! failed or a callee-saved register was not preserved (a gate bug, not a leak).
#![no_std]
#![no_main]

use core::arch::asm;

use attack_kit::{CALLER_REGS_PATTERN, VICTIM_REGS_PATTERN, not_contained};
use tessera_sdk::abi::gate;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");

/// Register names in the order the asm stores them.
const AFTER: [&str; 14] = [
    "RAX", "RDX", "RCX", "RSI", "RDI", "R8", "R9", "R10", "R11", "RBX", "RBP", "R12", "R13", "R14",
];

fn main() -> i32 {
    let target = match tessera_sdk::gate::lookup("victim", "regs_probe") {
        Ok(t) => t,
        Err(e) => {
            println!("{NAME}: cannot look up victim.regs_probe: {e}");
            return 2;
        }
    };
    println!("{NAME}: calling victim.regs_probe with marked registers, checking both ways");
    let mut after = [0u64; 14];
    // SAFETY: a gate call like the SDK's (gate entry in RCX, R11 = view, RAX = index,
    // zero arguments), plus: RBX and RBP are saved on the stack around it (two pushes
    // keep RSP 16-byte aligned for the call) and restored after; R12–R14 carry the
    // pattern (declared clobbered: the gate does not preserve them) and R15 the address
    // of `after`, which the gate preserves; the stores after the call stay inside
    // `after` (14 u64s). Everything the gate may change is declared.
    unsafe {
        asm!(
            "push rbx",
            "push rbp",
            "mov rbx, r12",
            "mov rbp, r12",
            "call rcx",
            "mov [r15], rax",
            "mov [r15 + 8], rdx",
            "mov [r15 + 16], rcx",
            "mov [r15 + 24], rsi",
            "mov [r15 + 32], rdi",
            "mov [r15 + 40], r8",
            "mov [r15 + 48], r9",
            "mov [r15 + 56], r10",
            "mov [r15 + 64], r11",
            "mov [r15 + 72], rbx",
            "mov [r15 + 80], rbp",
            "mov [r15 + 88], r12",
            "mov [r15 + 96], r13",
            "mov [r15 + 104], r14",
            "pop rbp",
            "pop rbx",
            inlateout("rcx") gate::CODE + gate::entry::CALL => _,
            inlateout("r11") u64::from(target.view) => _,
            inlateout("rax") u64::from(target.index) => _,
            inlateout("rdi") 0u64 => _,
            inlateout("rsi") 0u64 => _,
            inlateout("rdx") 0u64 => _,
            inlateout("r10") 0u64 => _,
            inlateout("r8") 0u64 => _,
            inlateout("r9") 0u64 => _,
            inlateout("r12") CALLER_REGS_PATTERN => _,
            inlateout("r13") CALLER_REGS_PATTERN => _,
            inlateout("r14") CALLER_REGS_PATTERN => _,
            inlateout("r15") after.as_mut_ptr() => _,
            clobber_abi("sysv64"),
        );
    }
    let (seen_by_victim, status) = (after[0], after[1]);
    if status != gate::status::OK {
        println!("{NAME}: the call failed with gate status {status}");
        return 2;
    }
    if seen_by_victim != 0 {
        return not_contained(
            NAME,
            format_args!("the victim saw my marked value in {seen_by_victim} register(s)"),
        );
    }
    for (name, value) in AFTER.iter().zip(after).skip(2).take(7) {
        if value == VICTIM_REGS_PATTERN {
            return not_contained(NAME, format_args!("{name} still holds the victim's value"));
        }
    }
    for (name, value) in AFTER.iter().zip(after).skip(11) {
        if value == VICTIM_REGS_PATTERN {
            return not_contained(NAME, format_args!("{name} still holds the victim's value"));
        }
    }
    for (name, value) in AFTER.iter().zip(after).skip(9).take(2) {
        if value != CALLER_REGS_PATTERN {
            println!("{NAME}: the gate did not preserve {name} ({value:#x})");
            return 2;
        }
    }
    println!("{NAME}: registers scrubbed both ways; RBX, RBP preserved");
    0
}
