//! Several threads of control (docs/gates.md "SMP"): one per vCPU, each with its own
//! `main`, its own `current` view and its own call stack in every view (`STATE(V,k)` is
//! mapped only in vCPU k's root of V), over views they share — whether L1 stopped a view
//! is one fact for all of them.
//!
//! A step is taken by a random thread, so calls, returns, faults, forged messages and
//! state-page rewrites of different vCPUs interleave. On top of the single-thread
//! invariants (checked on whichever thread steps), this checks:
//! - a state page is written only by its own view on its own thread, or by L1
//!   ([`Machine::fr_mut`]);
//! - settling one thread leaves every other thread's frames as they were
//!   (`check_other_threads_untouched`), so unwinding never reaches across vCPUs;
//! - the stop barrier: when a view is stopped on one thread, every other thread whose
//!   executing view it is gets settled (the STOP IPI); no thread ever executes a stopped
//!   view, and threads merely *waiting* on it are left alone until control comes back;
//! - serial views: an honest serial view is never on two threads' call chains at once
//!   (its gate answers BUSY instead), whatever malicious serial views do to their own
//!   OWNER word, and BUSY stops nobody.

use super::*;
use proptest::prelude::*;

impl Machine {
    /// Gives the machine `n` threads, none running a `main` yet.
    pub(crate) fn add_threads(&mut self, n: usize) {
        for v in &mut self.views {
            v.per_thread = vec![Frames::new(); n];
        }
        let idle = Thread {
            main: 0,
            current: 0,
            over: true,
        };
        self.threads = vec![idle; n];
        self.trail = vec![Vec::new(); n];
    }

    /// After L1 stopped `view` on the current thread: the STOP IPI makes every other
    /// thread exit, and L1 on each settles it if it was executing `view`.
    /// L1 at the end of a thread's `main`: it releases whatever that thread owned.
    fn end_thread(&mut self) {
        let cur = self.cur;
        for v in &mut self.views {
            if v.owner == Some(cur) {
                v.owner = None;
            }
        }
    }

    /// An honest serial view runs on one thread at a time.
    fn check_serial(&self) {
        for (i, v) in self.views.iter().enumerate() {
            if !v.honest || !v.serial || v.stopped {
                continue;
            }
            let on: Vec<usize> = (0..self.threads.len())
                .filter(|&t| {
                    let th = self.threads[t];
                    !th.over && (th.main == i || v.per_thread[t].active > 0)
                })
                .collect();
            if on.len() > 1 {
                self.fail(&format!("serial view {i} runs on threads {on:?}"));
            }
        }
    }

    pub(crate) fn stop_barrier(&mut self, view: usize) {
        if !self.barrier {
            return;
        }
        let origin = self.cur;
        for t in 0..self.threads.len() {
            let th = self.threads[t];
            if t != origin && !th.over && th.current == view {
                self.cur = t;
                self.note(format!(
                    "  [t{t}] STOP IPI: it was executing {view}: settle"
                ));
                self.l1_settle();
            }
        }
        self.cur = origin;
    }
}

/// Runs `threads` threads over one random machine; mains start on idle threads (any
/// view, also one another thread runs: parallel compartments).
pub(crate) fn run_threads(seed: u64, threads: usize, all_honest: bool, barrier: bool) {
    run_with(seed, threads, all_honest, |m| m.barrier = barrier);
}

fn run_with(seed: u64, threads: usize, all_honest: bool, tweak: impl Fn(&mut Machine)) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut m = Machine::new(&mut rng);
    if all_honest {
        for v in &mut m.views {
            v.honest = true;
        }
    }
    tweak(&mut m);
    m.add_threads(threads);
    let n = m.views.len();
    for v in &mut m.views {
        v.serial = rng.chance(50);
    }
    let mut mains_left = 3 * threads;
    for _ in 0..300 * threads {
        m.cur = rng.below(threads);
        if m.thread().over {
            m.end_thread();
            let main = rng.below(n);
            let v = &m.views[main];
            // L1 starts a serial main only when no other thread owns it.
            if mains_left > 0 && !v.stopped && !(v.serial && v.owner.is_some()) {
                mains_left -= 1;
                m.start_main(main);
                if m.views[main].serial {
                    m.views[main].owner = Some(m.cur);
                }
            }
            continue;
        }
        step(&mut m, &mut rng);
        m.check_serial();
    }
}

/// One step of the current thread's executing view.
fn step(m: &mut Machine, rng: &mut super::Rng) {
    let me = m.thread().current;
    if m.views[me].stopped {
        m.fail("a stopped view is executing");
    }
    m.note(format!("[t{}]", m.cur));
    if m.views[me].honest {
        m.honest_step(rng);
    } else if rng.chance(5) {
        // Its own OWNER word: writable in its own views on every vCPU.
        let owner = rng.below(m.threads.len() + 1);
        m.note(format!("{me} (malicious) sets its OWNER to {owner}"));
        m.views[me].owner = (owner < m.threads.len()).then_some(owner);
    } else {
        m.malicious_step(rng);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn several_threads_never_harm_an_honest_compartment(
        seed in any::<u64>(),
        threads in 2usize..=4,
    ) {
        run_threads(seed, threads, false, true);
    }

    #[test]
    fn honest_threads_lose_only_what_faulted(seed in any::<u64>(), threads in 2usize..=4) {
        run_threads(seed, threads, true, true);
    }
}

#[test]
#[should_panic(expected = "a stopped view is executing")]
fn without_the_stop_barrier_a_stopped_view_keeps_running_on_another_vcpu() {
    // The same histories without the STOP IPI: some thread goes on executing a view
    // that another thread's L1 stopped. (Shows the checks can fail.)
    for seed in 0..20_000 {
        run_threads(seed, 2, true, false);
    }
}

#[test]
#[should_panic(expected = "runs on threads")]
fn releasing_an_owner_the_activation_did_not_claim_lets_a_serial_view_run_on_two_vcpus() {
    // The gate's rule without "only the activation that claimed OWNER releases it": a
    // call back into a serial view whose main waits in a call releases OWNER on
    // return, and another thread enters the view while its main still runs.
    for seed in 0..20_000 {
        run_with(seed, 2, true, |m| m.release_unclaimed = true);
    }
}

/// A serial view's gate on two threads: BUSY for the second while the first has an
/// activation, a call back into a waiting main claims nothing and releases nothing, and
/// the activation that claimed releases on return.
#[test]
fn a_serial_view_is_busy_on_another_thread_until_its_activation_returns() {
    let mut rng = Rng(11);
    let mut m = Machine::new(&mut rng);
    m.views.truncate(3);
    for v in &mut m.views {
        v.honest = true;
        v.callers = [!0; 8];
        v.exports = vec![0x1000];
        v.max_depth = 4;
        v.stopped = false;
        v.serial = true;
    }
    m.add_threads(2);
    // Thread 0 runs 0's main, which L1 claimed for it; thread 1 runs 2's.
    m.cur = 0;
    m.start_main(0);
    m.views[0].owner = Some(0);
    m.cur = 1;
    m.start_main(2);
    m.views[2].owner = Some(1);
    // Thread 1 calls 1: claimed.
    m.gate_call(1, 0);
    assert_eq!((m.threads[1].current, m.views[1].owner), (1, Some(1)));
    // Thread 0 calls 1: BUSY, nothing changed; 0 runs on.
    m.cur = 0;
    let before = m.views[1].clone();
    m.gate_call(1, 0);
    assert_eq!(m.threads[0].current, 0);
    assert_eq!(m.views[1].owner, Some(1));
    assert_eq!(m.views[1].per_thread, before.per_thread);
    assert_eq!(
        m.views[0].per_thread[0].depth, 0,
        "the refusal answered its call"
    );
    // Thread 1: 1 returns; the claim goes with it.
    m.cur = 1;
    m.gate_return();
    assert_eq!((m.threads[1].current, m.views[1].owner), (2, None));
    // Thread 0: 0 → 1 → 0 (a call back into its waiting main: already thread 0's).
    m.cur = 0;
    m.gate_call(1, 0);
    assert_eq!(m.views[1].owner, Some(0));
    m.gate_call(0, 0);
    assert_eq!(m.threads[0].current, 0);
    m.gate_return();
    assert_eq!(
        m.views[0].owner,
        Some(0),
        "0's main still runs: still thread 0's"
    );
    // Thread 1 cannot enter 0 meanwhile.
    m.cur = 1;
    m.gate_call(0, 0);
    assert_eq!(m.threads[1].current, 2);
    assert_eq!(m.views[0].owner, Some(0));
}

/// Three threads meet in the honest view 1, which faults on thread 0 while thread 1 also
/// executes it and thread 2 waits on it (1 called 2 there).
#[test]
fn a_stop_unwinds_the_threads_inside_the_view_and_leaves_the_waiting_one_running() {
    let mut rng = Rng(7);
    let mut m = Machine::new(&mut rng);
    m.views.truncate(3);
    for v in &mut m.views {
        v.honest = true;
        v.callers = [!0; 8];
        v.exports = vec![0x1000];
        v.max_depth = 4;
        v.stopped = false;
    }
    m.add_threads(3);
    for t in 0..3 {
        m.cur = t;
        m.start_main(0);
        m.gate_call(1, 0); // 0 → 1 on every thread
    }
    m.cur = 2;
    m.gate_call(2, 0); // thread 2: 0 → 1 → 2
    assert_eq!(m.threads[2].current, 2);
    let waiting = m.fr(1).clone();

    m.cur = 0;
    m.stop_current(Cause::OwnFault); // 1 faults on thread 0
    assert!(m.views[1].stopped);
    for t in 0..2 {
        // Threads 0 and 1 were executing 1: each is back in 0 with CALLEE_FAILED.
        assert_eq!(m.threads[t].current, 0, "thread {t}");
        assert_eq!(m.views[1].per_thread[t].depth, 0);
        assert_eq!(m.views[0].per_thread[t].depth, 0);
    }
    // Thread 2 runs on in view 2, its frames untouched.
    assert_eq!(m.threads[2].current, 2);
    assert_eq!(m.views[1].per_thread[2], waiting);

    // When 2 returns into the stopped 1, the stray settles thread 2: 0's call fails.
    m.cur = 2;
    m.gate_return();
    assert_eq!(m.threads[2].current, 0);
    assert_eq!(m.views[0].per_thread[2].depth, 0);
    assert_eq!(m.views[1].per_thread[2].depth, 0);
}
