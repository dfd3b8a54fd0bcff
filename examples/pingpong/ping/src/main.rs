//! The caller of the round-trip demo: calls `pong.pong` [`ROUNDS`] times after a warm-up
//! through the typed interface of examples/pingpong/api (the argument and the result cross
//! in the call buffer of edge ping→pong),
//! checks every result, and reports the VM exits the loop caused:
//!
//! ```text
//! [ping] ROUNDTRIPS n=10000 exits=E
//! ```
//!
//! (the hypervisor prefixes compartment output with `[ping] `), and the same through
//! REPORT as `@@ROUNDTRIPS compartment=ping n=10000 exits=E ticks=T` (T: TSC ticks of
//! the timed loop). With hardware VMFUNC a
//! gate round trip exits nowhere, so E = 0; with emulated switching each round trip
//! costs the exits of its two switches.
//!
//! E excludes the exits of reading the counter: EXIT_COUNT is itself a hypercall (an
//! exit), and whether its own exit is already counted in the value it returns is the
//! hypervisor's business. Two back-to-back reads measure that cost, which is subtracted.
#![no_std]
#![no_main]

use pingpong_api::pong;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

/// Measured round trips.
const ROUNDS: u64 = 10_000;
/// Unmeasured round trips first: the first one also looks the export up (a hypercall).
const WARMUP: u64 = 100;

fn main() -> i32 {
    for i in 0..WARMUP {
        if let Err(code) = round_trip(i) {
            return code;
        }
    }
    let first = exit_count();
    let second = exit_count();
    let counter_cost = second - first;

    let before = exit_count();
    let start = tsc();
    for i in 0..ROUNDS {
        if let Err(code) = round_trip(i) {
            return code;
        }
    }
    let ticks = tsc() - start;
    let after = exit_count();

    let exits = (after - before).saturating_sub(counter_cost);
    println!("ping: reading the exit counter costs {counter_cost} exit(s), subtracted");
    println!("ROUNDTRIPS n={ROUNDS} exits={exits}");
    // The same as a machine line, `@@ROUNDTRIPS compartment=ping n=... exits=...`, where
    // the hypervisor has REPORT; the console line above is what the tests read.
    // `ticks=`: TSC ticks of the timed loop (on Bochs, instructions this vCPU retired:
    // docs/benchmarks.md "SMP"); `cargo xtask bench --smp` divides it by n.
    if let Err(e) = tessera_sdk::report!("ROUNDTRIPS", "n={ROUNDS} exits={exits} ticks={ticks}") {
        println!("ping: REPORT refused: {e}");
    }
    0
}

/// The time-stamp counter (RDTSC is not intercepted: no exit).
fn tsc() -> u64 {
    // SAFETY: RDTSC reads a counter; it touches no memory.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// One checked round trip; `Err(exit code)` if it failed.
fn round_trip(x: u64) -> Result<(), i32> {
    match pong::pong(x) {
        Ok(y) if y == x + 1 => Ok(()),
        Ok(y) => {
            println!("ping: pong({x}) returned {y}, expected {}", x + 1);
            Err(1)
        }
        Err(e) => {
            println!("ping: pong({x}) failed: {e}");
            Err(2)
        }
    }
}
