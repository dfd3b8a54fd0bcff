//! Attack (DESIGN §6 property 10): aim the watchdog at a callee. With hardware VMFUNC the
//! hypervisor cannot see gate calls, so a budget that simply counted from the last exit
//! could be burnt by a caller and expire in its callee. This `main` spins, without exits,
//! until shortly before the watchdog period (the default budget, 2^26 TSC ticks) has
//! passed since it started, then calls spinner's `work` back to back across that point:
//! the timer expires while spinner runs. spinner must never be stopped: every call
//! returns its checksum, and this compartment exits 0.
#![no_std]
#![no_main]

use core::arch::x86_64::_rdtsc;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

tessera_sdk::import! {
    spinner {
        fn work(n: u64) -> u64;
    }
}

/// The default watchdog budget, which is the hardware-mode period (docs/gates.md).
const PERIOD: u64 = 1 << 26;

fn main() -> i32 {
    // SAFETY: RDTSC only reads the time-stamp counter.
    let start = unsafe { _rdtsc() };
    let Ok(expected) = spinner::work(10_000) else {
        println!("attack-aim: spinner.work failed before the attack");
        return 1;
    };
    // SAFETY: as above.
    while unsafe { _rdtsc() } < start + PERIOD - 400_000 {
        core::hint::spin_loop();
    }
    // Calls of ~80,000 ticks each, over about a million ticks around the period's end.
    for call in 0..12 {
        match spinner::work(10_000) {
            Ok(x) if x == expected => {}
            other => {
                println!("attack-aim: spinner.work call {call} -> {other:?}");
                return 1;
            }
        }
    }
    println!("attack-aim: spinner answered every call across the watchdog period; all fine");
    0
}
