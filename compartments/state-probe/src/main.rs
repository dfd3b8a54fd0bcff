//! An honest callee that reports what crosses the gate into it (DESIGN §6 property 7):
//!
//! | export | does |
//! |---|---|
//! | `snapshot()` | records RFLAGS, DS, ES, FS, GS, SS and CR2 as it was entered with them |
//! | `seen(i)` | returns what `snapshot` recorded: 0 RFLAGS, 1–5 DS ES FS GS SS, 6 CR2 |
//! | `copy_sum()` | copies 64 bytes with `rep movsb` into a stack buffer, returns their sum |
//!
//! `snapshot` is assembly, so that nothing runs before it reads the state. `copy_sum` is
//! what a caller that sets DF before calling would break (the copy would run backwards
//! over this compartment's stack): its sum is right only if DF arrived clear.
#![no_std]
#![no_main]

use core::arch::{asm, global_asm};
use core::sync::atomic::{AtomicU64, Ordering};

use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

/// RFLAGS, DS, ES, FS, GS, SS, CR2 at `snapshot`'s entry.
static SEEN: [AtomicU64; 7] = [const { AtomicU64::new(0) }; 7];

/// What `copy_sum` copies: 0, 1, ..., 63.
static SOURCE: [u8; 64] = {
    let mut bytes = [0u8; 64];
    let mut i = 0;
    while i < 64 {
        bytes[i] = i as u8;
        i += 1;
    }
    bytes
};

tessera_sdk::exports! {
    /// What `snapshot` recorded.
    fn seen(i: u64) -> u64 {
        SEEN.get(i as usize).map_or(u64::MAX, |v| v.load(Ordering::Relaxed))
    }

    /// Copies [`SOURCE`] with `rep movsb` and returns the sum of the copy.
    fn copy_sum() -> u64 {
        let mut buffer = [0u8; 64];
        // SAFETY: copies 64 bytes from a 64-byte static into a 64-byte local with
        // `rep movsb`; Rust's inline-asm contract has DF clear on entry, which the gate
        // guarantees whatever the caller left (that is what this export checks).
        unsafe {
            asm!(
                "rep movsb",
                inout("rcx") 64usize => _,
                inout("rsi") SOURCE.as_ptr() => _,
                inout("rdi") buffer.as_mut_ptr() => _,
                options(nostack, preserves_flags),
            );
        }
        buffer.iter().map(|b| u64::from(*b)).sum()
    }
}

// snapshot: stores RFLAGS, DS, ES, FS, GS, SS and CR2 into SEEN before anything else
// runs, returns 0. Keeps every register the System V ABI asks it to keep.
global_asm!(
    ".pushsection .text.state_probe_snapshot,\"ax\",@progbits",
    ".globl state_probe_snapshot",
    ".hidden state_probe_snapshot",
    ".p2align 4",
    "state_probe_snapshot:",
    "pushfq",
    "pop qword ptr [rip + {seen}]",
    "mov eax, ds",
    "mov [rip + {seen} + 8], rax",
    "mov eax, es",
    "mov [rip + {seen} + 16], rax",
    "mov eax, fs",
    "mov [rip + {seen} + 24], rax",
    "mov eax, gs",
    "mov [rip + {seen} + 32], rax",
    "mov eax, ss",
    "mov [rip + {seen} + 40], rax",
    "mov rax, cr2",
    "mov [rip + {seen} + 48], rax",
    "xor eax, eax",
    "ret",
    ".popsection",
    seen = sym SEEN,
);

unsafe extern "C" {
    /// Defined in the `global_asm!` above.
    fn state_probe_snapshot();
}

tessera_sdk::exports_raw! {
    // SAFETY: state_probe_snapshot reads no argument, writes only SEEN (atomics), keeps
    // RBX, RBP, RSP and R12–R15, and returns with `ret`.
    unsafe snapshot = state_probe_snapshot;
}

fn main() -> i32 {
    println!("state-probe: ready");
    0
}
