//! The callee of benchmark `r` (docs/benchmarks.md): `dirty(n)` writes one byte into
//! each of the first `n` pages of its heap, then executes `ud2`. The hypervisor stops it
//! and, its manifest entry saying `restart = "on-fault"`, restarts it from its pristine
//! image before its caller's call returns `CalleeFailed`.
#![no_std]
#![no_main]

use tessera_sdk::abi::gate::{self, info};

tessera_sdk::entry!(main);

tessera_sdk::exports! {
    /// Dirties `n` heap pages (at most the heap's), then faults.
    fn dirty(n: u64) -> u64 {
        // SAFETY: the info page is mapped readable in this view for its whole life.
        let word = |o: u64| unsafe { ((gate::INFO + o) as *const u64).read_volatile() };
        let (base, size) = (word(info::HEAP_BASE), word(info::HEAP_SIZE));
        for page in 0..n.min(size / 4096) {
            // SAFETY: the hypervisor maps the heap read-write in this view; the
            // allocator is not used by this compartment, so nothing else holds these
            // bytes.
            unsafe { ((base + page * 4096) as *mut u8).write_volatile(1) };
        }
        // SAFETY: deliberately faulting: UD2 raises #UD, which the hypervisor contains.
        unsafe { core::arch::asm!("ud2", options(nomem, nostack)) };
        0
    }
}

fn main() -> i32 {
    0
}
