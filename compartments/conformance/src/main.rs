//! The VMFUNC conformance compartment (VMFUNC-SEMANTICS.md, "Conformance cases"). Runs
//! only with the hypervisor's test fixture (kernel argument `conformance=1`), which gives
//! it an EPTP list with deliberately invalid entries and records how each `VMFUNC` ended.
//!
//! Each case starts from a known state (view 0), executes one `VMFUNC`, reports the case
//! (the hypervisor prints `@@VMFUNC case=..`), and goes back to view 0.
#![no_std]
#![no_main]

use core::arch::asm;
use tessera_sdk::abi::hypercall::CONFORMANCE_REPORT;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

/// Slots of the fixture's EPTP list (hypervisor/kernel/src/conformance.rs).
mod slot {
    pub const BASE: u64 = 0;
    pub const CLONE: u64 = 1;
    pub const EMPTY: u64 = 2;
    pub const TYPES: [u64; 4] = [3, 4, 5, 6];
    pub const WALK3: u64 = 7;
    pub const WALK5: u64 = 8;
    pub const AD: u64 = 9;
    pub const BIT7: u64 = 10;
    pub const BITS_11_8: u64 = 11;
    pub const WIDE: u64 = 12;
    pub const UNBACKED: u64 = 13;
    pub const LAST: u64 = 511;
}

/// How the instruction is encoded.
#[derive(Clone, Copy)]
enum Form {
    Plain,
    /// 66 0F 01 D4: an operand-size prefix.
    OperandSize,
    /// F3 0F 01 D4: a REP prefix.
    Rep,
}

/// (case number of the table, RAX, RCX, encoding).
const CASES: &[(u64, u64, u64, Form)] = &[
    (1, 0, slot::CLONE, Form::Plain),
    (2, 0, slot::BASE, Form::Plain),
    (3, 0, slot::LAST, Form::Plain),
    (4, 0, 512, Form::Plain),
    (5, 0, 0xFFFF_FFFF, Form::Plain),
    (6, 0, slot::EMPTY, Form::Plain),
    (7, 0, slot::TYPES[0], Form::Plain),
    (7, 0, slot::TYPES[1], Form::Plain),
    (7, 0, slot::TYPES[2], Form::Plain),
    (7, 0, slot::TYPES[3], Form::Plain),
    (8, 0, slot::WALK3, Form::Plain),
    (8, 0, slot::WALK5, Form::Plain),
    (9, 0, slot::AD, Form::Plain),
    (10, 0, slot::BIT7, Form::Plain),
    (10, 0, slot::BITS_11_8, Form::Plain),
    (11, 0, slot::WIDE, Form::Plain),
    (12, 0, slot::UNBACKED, Form::Plain),
    (13, 1, 0, Form::Plain),
    (14, 63, 0, Form::Plain),
    (15, 64, slot::CLONE, Form::Plain),
    (16, 0xFFFF_FFFF, slot::CLONE, Form::Plain),
    (17, 0, slot::CLONE, Form::OperandSize),
    (17, 0, slot::CLONE, Form::Rep),
    // Upper halves of RAX/RCX must not matter.
    (
        18,
        0xFFFF_FFFF_0000_0000,
        0xFFFF_FFFF_0000_0000 | slot::CLONE,
        Form::Plain,
    ),
    (19, 0x0000_0001_0000_0040, slot::CLONE, Form::Plain),
    (
        20,
        0xDEAD_BEEF_0000_0000,
        0x1234_5678_0000_0200,
        Form::Plain,
    ),
];

/// Executes one `VMFUNC`. In this fixture any view the CPU lands in maps this code the
/// same way, and the hypervisor resumes after an exit 59 or #UD.
fn vmfunc(rax: u64, rcx: u64, form: Form) {
    // VMFUNC changes only which EPT view is loaded; every view of the fixture maps this
    // compartment's code, data and stack identically (or the hypervisor puts view 0
    // back), so no Rust-visible state changes.
    match form {
        // SAFETY: see above.
        Form::Plain => unsafe {
            asm!(".byte 0x0f, 0x01, 0xd4", in("rax") rax, in("rcx") rcx, options(nostack))
        },
        // SAFETY: see above (66 prefix: the CPU raises #UD; the hypervisor skips it).
        Form::OperandSize => unsafe {
            asm!(".byte 0x66, 0x0f, 0x01, 0xd4", in("rax") rax, in("rcx") rcx, options(nostack))
        },
        // SAFETY: see above (F3 prefix: #UD, skipped).
        Form::Rep => unsafe {
            asm!(".byte 0xf3, 0x0f, 0x01, 0xd4", in("rax") rax, in("rcx") rcx, options(nostack))
        },
    }
}

fn main() -> i32 {
    println!("conformance: {} VMFUNC cases", CASES.len());
    for &(case, rax, rcx, form) in CASES {
        vmfunc(rax, rcx, form);
        // SAFETY: CONFORMANCE_REPORT takes no pointers.
        unsafe { tessera_sdk::hypercall::hypercall(CONFORMANCE_REPORT, case, rax, rcx, 0, 0, 0) };
        vmfunc(0, slot::BASE, Form::Plain);
    }
    0
}
