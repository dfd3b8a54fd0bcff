//! `work()` calls back reentrant-host's `cb` and returns its answer; `inner()` reads
//! unmapped memory (a fault of this compartment, during the host's re-entrant call).
#![no_std]
#![no_main]

use core::hint::black_box;

tessera_sdk::entry!(main);

tessera_sdk::import! {
    host = "reentrant-host" {
        fn cb() -> u64;
    }
}

tessera_sdk::exports! {
    /// Calls the host back.
    fn work() -> u64 {
        host::cb().unwrap_or(0xBAD)
    }

    /// Faults: reads guest-physical 0x1000, which no view maps.
    fn inner() -> u64 {
        // SAFETY: deliberately faulting; the hypervisor stops this compartment.
        unsafe { core::ptr::read_volatile(black_box(0x1000 as *const u64)) }
    }
}

fn main() -> i32 {
    0
}
