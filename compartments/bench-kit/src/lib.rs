//! What the benchmark compartments (`compartments/bench-*`) share: a serialised TSC read,
//! the timed loop, its statistics, and the `@@BENCH` report (docs/benchmarks.md).
//!
//! A benchmark is a closure run [`ITERATIONS`] times after [`WARMUP`] untimed runs. Each
//! iteration is timed on its own between two serialised TSC reads (`LFENCE; RDTSC;
//! LFENCE`: RDTSCP would raise #UD, Tessera does not enable it for guests). The cost of
//! the two reads themselves ([`Bencher::overhead`], the minimum of [`ITERATIONS`] empty
//! timings) is subtracted from every sample. The VM exits of the timed loop come from
//! the hypervisor's counter (EXIT_COUNT) read before and after it, less what reading the
//! counter costs.
//!
//! The report is one REPORT hypercall (`tessera_sdk::report!`) with the text
//!
//! ```text
//! BENCH {"name":"gate-0","engine_ticks":"tsc","iterations":10000,"min":..,"median":..,
//!        "p99":..,"max":..,"exits_per_iter":[EXITS,ITERATIONS],"overhead":..}
//! ```
//!
//! (one line; the hypervisor prints it as `@@BENCH {"compartment":"NAME",...}` and would
//! refuse it if it named `compartment` or another identity key itself). All
//! numbers are integers in TSC ticks; `exits_per_iter` is the exact ratio as a pair
//! `[exits of the whole timed loop, iterations]`.
#![no_std]

use core::arch::asm;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};

use tessera_sdk::report::ReportError;
use tessera_sdk::{exit_count, println};

/// Timed iterations of every benchmark.
pub const ITERATIONS: usize = 10_000;
/// Untimed iterations before the timed ones (caches, lookups, first-touch faults).
pub const WARMUP: usize = 1_000;

/// The time-stamp counter, read between two `LFENCE`s: the read waits for every earlier
/// instruction, and no later instruction starts before it.
///
/// On Bochs (`clock: sync=none`) the TSC counts instructions executed — the hypervisor's
/// included, when the timed code exits to it.
#[inline(always)]
pub fn tsc() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: LFENCE and RDTSC only order instructions and read the TSC into EDX:EAX
    // (RDTSC is allowed at the compartments' CPL 0 and Tessera does not make it exit).
    // Not `nomem`: the asm stays a compiler barrier, so the timed code's memory accesses
    // are not moved out of the timed region.
    unsafe {
        asm!(
            "lfence",
            "rdtsc",
            "lfence",
            out("eax") lo,
            out("edx") hi,
            options(nostack, preserves_flags),
        );
    }
    (u64::from(hi) << 32) | u64::from(lo)
}

/// The samples buffer: in `.bss` (80 KB, more than the SDK's heap), handed out once.
struct Samples(UnsafeCell<[u64; ITERATIONS]>);

// SAFETY: compartments run on one vCPU without interrupts, and the buffer is reachable
// only through the one `&'static mut` that `take_samples` hands out (guarded by TAKEN).
unsafe impl Sync for Samples {}

static SAMPLES: Samples = Samples(UnsafeCell::new([0; ITERATIONS]));
static TAKEN: AtomicBool = AtomicBool::new(false);

fn take_samples() -> Option<&'static mut [u64; ITERATIONS]> {
    if TAKEN.swap(true, Ordering::Relaxed) {
        return None;
    }
    // SAFETY: TAKEN was false, so no other reference to the buffer exists, and none will
    // be made: this is the only place that reads SAMPLES' cell.
    Some(unsafe { &mut *SAMPLES.0.get() })
}

/// One benchmark's result, in TSC ticks per iteration (timer overhead subtracted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stats {
    pub min: u64,
    pub median: u64,
    /// Nearest-rank 99th percentile.
    pub p99: u64,
    pub max: u64,
    /// VM exits of the whole timed loop.
    pub exits: u64,
}

/// Why a benchmark produced no result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failed {
    /// An iteration's operation reported a wrong result (warm-up or timed).
    WrongResult,
    /// The REPORT hypercall refused the line (the error names the word).
    Report(ReportError),
}

/// Runs benchmarks: owns the samples buffer and the measured costs of measuring.
#[derive(Debug)]
pub struct Bencher {
    samples: &'static mut [u64; ITERATIONS],
    overhead: u64,
    counter_cost: u64,
}

impl Bencher {
    /// Takes the samples buffer and measures what the timer and the exit counter cost.
    ///
    /// # Panics
    ///
    /// If called twice (there is one buffer).
    pub fn new() -> Bencher {
        let samples = take_samples().expect("bench_kit::Bencher::new called twice");
        let first = exit_count();
        let second = exit_count();
        let mut bencher = Bencher {
            samples,
            overhead: 0,
            counter_cost: second.wrapping_sub(first),
        };
        bencher.time(ITERATIONS, &mut |_| true);
        bencher.overhead = bencher.samples.iter().copied().min().unwrap_or(0);
        bencher
    }

    /// Ticks two back-to-back serialised TSC reads take (subtracted from every sample).
    pub fn overhead(&self) -> u64 {
        self.overhead
    }

    /// Fills the first `n` samples with timed runs of `op`; false if any failed.
    #[inline(always)]
    fn time<F: FnMut(usize) -> bool>(&mut self, n: usize, op: &mut F) -> bool {
        let mut ok = true;
        for (i, sample) in self.samples[..n].iter_mut().enumerate() {
            let start = tsc();
            let good = op(i);
            let end = tsc();
            *sample = end.wrapping_sub(start);
            ok &= good;
        }
        ok
    }

    /// Runs benchmark `name`: [`WARMUP`] untimed then [`ITERATIONS`] timed runs of `op`
    /// (given the iteration number; returns whether the result was right), and reports
    /// it. `extra` is more JSON members (`"views":16`), or empty.
    pub fn run(
        &mut self,
        name: &str,
        extra: &str,
        op: impl FnMut(usize) -> bool,
    ) -> Result<Stats, Failed> {
        self.run_n(name, extra, (WARMUP, ITERATIONS), op)
    }

    /// [`Bencher::run`] with `warmup` untimed and `iterations` timed runs (at most
    /// [`ITERATIONS`]), for operations too slow to repeat 10,000 times on an emulator
    /// (a restart: docs/benchmarks.md, `r`).
    pub fn run_n(
        &mut self,
        name: &str,
        extra: &str,
        (warmup, iterations): (usize, usize),
        mut op: impl FnMut(usize) -> bool,
    ) -> Result<Stats, Failed> {
        let n = iterations.clamp(1, ITERATIONS);
        for i in 0..warmup {
            if !op(i) {
                println!("bench {name}: warm-up iteration {i} got a wrong result");
                return Err(Failed::WrongResult);
            }
        }
        let before = exit_count();
        let ok = self.time(n, &mut op);
        let after = exit_count();
        if !ok {
            println!("bench {name}: a timed iteration got a wrong result");
            return Err(Failed::WrongResult);
        }
        let exits = after.wrapping_sub(before).saturating_sub(self.counter_cost);
        let samples = &mut self.samples[..n];
        for sample in samples.iter_mut() {
            *sample = sample.saturating_sub(self.overhead);
        }
        samples.sort_unstable();
        let stats = Stats {
            min: samples[0],
            median: samples[n / 2],
            p99: samples[(n * 99).div_ceil(100) - 1],
            max: samples[n - 1],
            exits,
        };
        self.report(name, extra, n, &stats)?;
        Ok(stats)
    }

    fn report(&self, name: &str, extra: &str, n: usize, s: &Stats) -> Result<(), Failed> {
        let sep = if extra.is_empty() { "" } else { "," };
        tessera_sdk::report!(
            "BENCH",
            "{{\"name\":\"{name}\",\"engine_ticks\":\"tsc\",\"iterations\":{n},\
             \"min\":{},\"median\":{},\"p99\":{},\"max\":{},\"exits_per_iter\":[{},{n}],\
             \"overhead\":{}{sep}{extra}}}",
            s.min,
            s.median,
            s.p99,
            s.max,
            s.exits,
            self.overhead
        )
        .map_err(Failed::Report)
    }
}

impl Default for Bencher {
    fn default() -> Self {
        Self::new()
    }
}

/// Exit code for `main` from a benchmark's outcome, printing why it failed.
pub fn exit_code(result: Result<Stats, Failed>) -> i32 {
    match result {
        Ok(_) => 0,
        Err(Failed::WrongResult) => 2,
        Err(Failed::Report(e)) => {
            println!("bench: REPORT refused the line: {e}");
            3
        }
    }
}
