//! The caller of benchmark `r` (docs/benchmarks.md): times `restarted.dirty(n)` for
//! several `n`. Each call enters the callee through the gate, the callee dirties `n` heap
//! pages and faults, the hypervisor restarts it from its pristine image (checking the
//! copy's SHA-256, rewriting what differs, zeroing the dirty heap and stack pages) and
//! resumes this caller with `CalleeFailed`: one sample is a whole fault-and-restart
//! round trip. Fewer iterations than the other benchmarks: a restart on Bochs costs
//! about as many instructions as a few thousand gate calls.
#![no_std]
#![no_main]

use bench_kit::{Bencher, exit_code};
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

tessera_sdk::import! {
    restarted {
        fn dirty(n: u64) -> u64;
    }
}

/// Heap pages dirtied per call, one benchmark each (`r0`, `r64`, `r256`).
const PAGES: [u64; 3] = [0, 64, 256];
/// Untimed and timed calls per benchmark (Bochs is deterministic: every sample of a row
/// is the same to a few instructions).
const RUNS: (usize, usize) = (5, 100);

fn main() -> i32 {
    let mut bench = Bencher::new();
    for n in PAGES {
        let name = format!("restart-{n}");
        let extra = format!("\"pages\":{n}");
        let result = bench.run_n(&name, &extra, RUNS, |_| {
            restarted::dirty(n) == Err(CallError::CalleeFailed)
        });
        if result.is_err() {
            return exit_code(result);
        }
    }
    0
}
