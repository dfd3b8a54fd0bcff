//! What the benchmark compartments (`compartments/bench-*`) share: a serialised TSC read,
//! the timed loop, its statistics, and the `@@BENCH` report (docs/benchmarks.md).
//!
//! A benchmark is a closure run [`ITERATIONS`] times after [`WARMUP`] untimed runs. The
//! timed runs are taken in samples of [`BATCH`] back-to-back runs (the loop unrolled by
//! eight), each sample timed between two serialised TSC reads (`LFENCE; RDTSC; LFENCE`:
//! RDTSCP would raise #UD, Tessera does not enable it for guests); the cost of the two
//! reads themselves ([`Bencher::overhead`], the minimum of as many empty samples, timed
//! the same way) is subtracted from every sample, which is then divided by [`BATCH`]
//! (rounded to nearest). So a figure is one run of the closure with the loop's own
//! bookkeeping (moving the TSC value across the run, registers spilled around it) spread
//! over [`BATCH`] runs instead of counted in each: until issue 14's second gate round
//! each run was a sample of its own, which added what the compiler put around the call
//! to every gate figure (about 12 instructions of c0 with ABI 3's SDK, 2 with ABI 4's:
//! docs/benchmarks.md). [`Bencher::run_n`] (the restart benchmark) still times each run
//! on its own. The VM exits of the timed loop come from the hypervisor's counter
//! (EXIT_COUNT) read before and after it, less what reading the counter costs.
//!
//! The report is one REPORT hypercall (`tessera_sdk::report!`) with the text
//!
//! ```text
//! BENCH {"name":"gate-0","engine_ticks":"tsc","iterations":10000,"min":..,"median":..,
//!        "p99":..,"max":..,"exits_per_iter":[EXITS,ITERATIONS],"overhead":..,"batch":16}
//! ```
//!
//! (one line; the hypervisor prints it as `@@BENCH {"compartment":"NAME",...}` and would
//! refuse it if it named `compartment` or another identity key itself). All
//! numbers are integers in TSC ticks; `exits_per_iter` is the exact ratio as a pair
//! `[exits of the whole timed loop, iterations]`; `batch` is how many runs each sample
//! timed (`iterations` counts runs; min, median, p99 and max are over the samples, per
//! run; `overhead` is per sample).
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
/// Runs timed together in one sample by [`Bencher::run`] (a multiple of 8, dividing
/// [`ITERATIONS`]).
pub const BATCH: usize = 16;
const _: () = assert!(BATCH % 8 == 0 && ITERATIONS % BATCH == 0);

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
        let samples = ITERATIONS / BATCH;
        bencher.time_batch(samples, &mut |_| true);
        bencher.overhead = bencher.samples[..samples]
            .iter()
            .copied()
            .min()
            .unwrap_or(0);
        bencher
    }

    /// Ticks two back-to-back serialised TSC reads take (subtracted from every sample):
    /// an empty sample of [`Bencher::run`]'s timed loop (its [`BATCH`] empty runs are
    /// nothing).
    pub fn overhead(&self) -> u64 {
        self.overhead
    }

    /// Fills the first `n` samples with timed batches of [`BATCH`] runs of `op` (all
    /// given the sample's number), each sample the whole batch's ticks; false if any run
    /// failed. A failed run ends its batch (a branch out of the unrolled runs, so the
    /// check is the run's own test of its result and nothing more).
    #[inline(always)]
    fn time_batch<F: FnMut(usize) -> bool>(&mut self, n: usize, op: &mut F) -> bool {
        let mut ok = true;
        for (i, sample) in self.samples[..n].iter_mut().enumerate() {
            let start = tsc();
            let good = batch(i, op);
            let end = tsc();
            *sample = end.wrapping_sub(start);
            ok &= good;
        }
        ok
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
    /// (given a number that differs between samples; returns whether the result was
    /// right), timed in samples of [`BATCH`] runs, and reports it. `extra` is more JSON
    /// members (`"views":16`), or empty.
    pub fn run(
        &mut self,
        name: &str,
        extra: &str,
        mut op: impl FnMut(usize) -> bool,
    ) -> Result<Stats, Failed> {
        for i in 0..WARMUP {
            if !op(i) {
                println!("bench {name}: warm-up iteration {i} got a wrong result");
                return Err(Failed::WrongResult);
            }
        }
        let n = ITERATIONS / BATCH;
        let before = exit_count();
        let ok = self.time_batch(n, &mut op);
        let after = exit_count();
        if !ok {
            println!("bench {name}: a timed iteration got a wrong result");
            return Err(Failed::WrongResult);
        }
        let exits = after.wrapping_sub(before).saturating_sub(self.counter_cost);
        let overhead = self.overhead;
        let stats = self.stats(n, exits, |sample| {
            (sample.saturating_sub(overhead) + BATCH as u64 / 2) / BATCH as u64
        });
        self.report(name, extra, (ITERATIONS, BATCH), &stats)?;
        Ok(stats)
    }

    /// [`Bencher::run`] with `warmup` untimed and `iterations` timed runs (at most
    /// [`ITERATIONS`]), each timed on its own (a sample per run), for operations too slow
    /// to repeat 10,000 times on an emulator (a restart: docs/benchmarks.md, `r`).
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
        let overhead = self.overhead;
        let stats = self.stats(n, exits, |sample| sample.saturating_sub(overhead));
        self.report(name, extra, (n, 1), &stats)?;
        Ok(stats)
    }

    /// The statistics of the first `n` samples, each turned into ticks per run by
    /// `per_run`.
    fn stats(&mut self, n: usize, exits: u64, per_run: impl Fn(u64) -> u64) -> Stats {
        let samples = &mut self.samples[..n];
        for sample in samples.iter_mut() {
            *sample = per_run(*sample);
        }
        samples.sort_unstable();
        Stats {
            min: samples[0],
            median: samples[n / 2],
            p99: samples[(n * 99).div_ceil(100) - 1],
            max: samples[n - 1],
            exits,
        }
    }

    fn report(
        &self,
        name: &str,
        extra: &str,
        (n, batch): (usize, usize),
        s: &Stats,
    ) -> Result<(), Failed> {
        let sep = if extra.is_empty() { "" } else { "," };
        tessera_sdk::report!(
            "BENCH",
            "{{\"name\":\"{name}\",\"engine_ticks\":\"tsc\",\"iterations\":{n},\
             \"min\":{},\"median\":{},\"p99\":{},\"max\":{},\"exits_per_iter\":[{},{n}],\
             \"overhead\":{},\"batch\":{batch}{sep}{extra}}}",
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

/// [`BATCH`] runs of `op(i)`, unrolled by eight; false at the first that failed.
#[inline(always)]
fn batch<F: FnMut(usize) -> bool>(i: usize, op: &mut F) -> bool {
    for _ in 0..BATCH / 8 {
        if !(op(i) && op(i) && op(i) && op(i) && op(i) && op(i) && op(i) && op(i)) {
            return false;
        }
    }
    true
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
