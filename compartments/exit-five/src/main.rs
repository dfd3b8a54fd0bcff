//! `main` returns 5; later its export `crash()` reads unmapped memory. The compartment's final
//! outcome is the fault (`expect = "fault:exception"`), not `exit:5`.
#![no_std]
#![no_main]

use core::hint::black_box;

tessera_sdk::entry!(main);

tessera_sdk::exports! {
    /// Faults: reads guest-physical 0x1000, which no view maps.
    fn crash() -> u64 {
        // SAFETY: deliberately faulting; the hypervisor stops this compartment.
        unsafe { core::ptr::read_volatile(black_box(0x1000 as *const u64)) }
    }
}

fn main() -> i32 {
    5
}
