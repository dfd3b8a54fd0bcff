//! The callee of the `serial-busy` scenario: its exports read and write its own shared
//! page's `OWNER` word (`tessera_abi::gate::shared`, RW in its own views only), which its
//! gate claims for a call into it while it is serial and idle on this vCPU (docs/gates.md
//! "Manifest: `concurrency` and `cpu`"). Its `main` leaves `OWNER` = 2, as if vCPU 1 had
//! it on its call chain: on one vCPU that is the only way to make a serial compartment
//! busy, and a compartment's own word is its own to write.
#![no_std]
#![no_main]

use tessera_sdk::abi::gate;

tessera_sdk::entry!(main);

/// `OWNER` as if vCPU 1 held it (k + 1).
const HELD_BY_VCPU_1: u64 = 2;

fn owner_word() -> *mut u64 {
    (gate::SHARED + gate::shared::OWNER) as *mut u64
}

tessera_sdk::exports! {
    /// `OWNER` as it is during this call (this activation's claim, if it made one).
    fn owner() -> u64 {
        // SAFETY: the shared page is mapped read-write in this compartment's views, and
        // the word is aligned; only this compartment's own gate (any vCPU) writes it.
        unsafe { owner_word().read_volatile() }
    }
    /// Writes `OWNER`; returns 0.
    fn set_owner(value: u64) -> u64 {
        // SAFETY: as in `owner`; writing it is this compartment's own business.
        unsafe { owner_word().write_volatile(value) };
        0
    }
}

fn main() -> i32 {
    // SAFETY: as in `owner`.
    unsafe { owner_word().write_volatile(HELD_BY_VCPU_1) };
    0
}
