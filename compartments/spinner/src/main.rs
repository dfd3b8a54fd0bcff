//! | export | does |
//! |---|---|
//! | `exit_loop()` | CPUID forever: an exit per iteration, so only a watchdog that bounds time (not time between exits) stops it |
//! | `work(n)` | n iterations of arithmetic, then returns (a callee a caller may try to aim the watchdog at) |
#![no_std]
#![no_main]

use core::arch::x86_64::__cpuid;
use core::hint::black_box;

tessera_sdk::entry!(main);

tessera_sdk::exports! {
    /// Never returns: CPUID (which exits to the hypervisor) in a loop.
    fn exit_loop() -> u64 {
        loop {
            black_box(__cpuid(black_box(0)));
        }
    }

    /// `n` rounds of work, then their checksum.
    fn work(n: u64) -> u64 {
        let mut x = 0u64;
        for i in 0..n {
            x = black_box(x.rotate_left(5) ^ i);
        }
        x
    }
}

fn main() -> i32 {
    0
}
