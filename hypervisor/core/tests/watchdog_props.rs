//! The watchdog (`tessera_core::watchdog`) against a simulated CPU with a true clock.
//!
//! The simulation keeps the truth — which activation runs, and how many ticks each has
//! really spent on top of the call stack (its exits' L1 time included) — and drives the
//! watchdog exactly as the run loop does: it sees only exits, plus every switch while it
//! is in trapped mode. Calls, returns and exits happen at random times, some activations
//! loop forever, and in hardware mode switches are invisible (hardware VMFUNC).
//!
//! Checked over many seeds:
//! - an activation is stopped only while it executes, and only after it really spent at
//!   least its budget (no caller can make the budget expire on a callee);
//! - a looping activation is stopped before it spent twice its budget (plus the time to
//!   the next check), and so is one that keeps making calls its callee refuses (each
//!   refusal comes back to it as a reply its gate matches: no renewal of its budget).

use tessera_core::watchdog::{Budgets, Switch, Verdict, Watchdog};

const BUDGET: u64 = 10_000;
/// L1's time on one exit (charged to whoever is on top, as the TSC counts it).
const EXIT_COST: u64 = 50;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[derive(Debug, Clone, Copy)]
struct Act {
    view: usize,
    /// Ticks it really spent on top of the stack.
    spent: u64,
    /// It never switches or exits on its own: only the timer ends its runs.
    looping: bool,
    /// It never returns: it keeps making calls the callee refuses, to try to renew its
    /// budget (each refusal comes back to it as a matched reply).
    refusing: bool,
}

struct Sim {
    now: u64,
    stack: Vec<Act>,
    dog: Watchdog,
    trapped: bool,
    views: usize,
    history: Vec<String>,
}

impl Sim {
    fn top(&mut self) -> &mut Act {
        self.stack.last_mut().expect("the main is always there")
    }

    /// Advances the true clock by `ticks` of the top activation.
    fn run(&mut self, ticks: u64) {
        self.now += ticks;
        self.top().spent += ticks;
    }

    fn fail(&self, what: &str) -> ! {
        panic!(
            "{what}\nstack: {:?}\nhistory:\n  {}",
            self.stack,
            self.history.join("\n  ")
        )
    }

    /// An exit: L1 checks the watchdog, then handles it (its time is on the top).
    /// Returns `true` if the top activation was stopped.
    fn exit(&mut self) -> bool {
        let current = self.top().view;
        self.exit_in(current)
    }

    /// An exit while view `current` executes (another view's gate may be refusing a
    /// message of the top activation: its time is still the top's).
    fn exit_in(&mut self, current: usize) -> bool {
        self.run(EXIT_COST);
        let at_base = self.stack.len() == 1;
        let verdict = self.dog.check(self.now, current, at_base);
        self.history.push(format!(
            "t={} exit in {current}: {verdict:?} dog={:?} true={:?}",
            self.now,
            self.dog
                .stack()
                .iter()
                .map(|a| (a.view, a.caller, a.used))
                .collect::<Vec<_>>(),
            self.stack.iter().map(|a| a.view).collect::<Vec<_>>()
        ));
        match verdict {
            Verdict::Trap => self.trapped = true,
            Verdict::Untrap => self.trapped = false,
            Verdict::Overrun { view, .. } => {
                let top = *self.top();
                if view != current || view != top.view {
                    self.fail("stopped a view that was not executing");
                }
                if top.spent < BUDGET {
                    self.fail("stopped an activation that had not spent its budget");
                }
                // L1 stops it; its caller resumes (depth = the caller's place).
                self.stack.pop();
                let resumed = self.top().view;
                self.dog.resumed(self.now, resumed, self.stack.len());
                return true;
            }
            Verdict::Continue => {}
        }
        false
    }

    /// A switch: seen by the watchdog only in trapped mode, where it is also an exit.
    fn switch(&mut self, from: usize, to: usize, what: Switch) {
        if self.trapped {
            self.run(EXIT_COST);
            self.dog.switched(self.now, from, to, what);
            self.history.push(format!(
                "t={} switch {from}->{to} {what:?} dog={:?}",
                self.now,
                self.dog
                    .stack()
                    .iter()
                    .map(|a| (a.view, a.caller, a.used))
                    .collect::<Vec<_>>()
            ));
        }
    }

    /// The top activation (of `view`) keeps making calls its callee refuses.
    fn refuse(&mut self, rng: &mut Rng, view: usize, timer: u64) {
        let ticks = 100 + rng.below(BUDGET / 4);
        if ticks >= timer {
            self.run(timer);
            let spent = self.top().spent;
            if !self.exit() && spent > 2 * BUDGET + timer + 4 * EXIT_COST {
                self.fail("an activation renewed its budget with refused calls");
            }
            return;
        }
        self.run(ticks);
        // Each switch is an exit in trapped mode, checked before it is emulated (the
        // run loop's order); in hardware mode the CPU switches unseen.
        if self.trapped && self.exit_in(view) {
            return;
        }
        let to = rng.below(self.views as u64) as usize;
        self.switch(view, to, Switch::Other);
        self.run(50);
        if self.trapped && self.exit_in(to) {
            return;
        }
        let at_base = self.stack.len() == 1;
        self.switch(to, view, Switch::Reply { at_base });
        if self.top().spent > 2 * BUDGET + BUDGET / 4 + 100 + 4 * EXIT_COST {
            self.fail("an activation renewed its budget with refused calls");
        }
    }

    fn step(&mut self, rng: &mut Rng) {
        let top = *self.top();
        // How long until the timer forces an exit.
        let timer = self.dog.timer(self.now);
        if top.refusing {
            self.refuse(rng, top.view, timer);
            return;
        }
        if top.looping {
            self.run(timer);
            let spent = self.top().spent;
            if !self.exit() && spent > 2 * BUDGET + timer + 2 * EXIT_COST {
                self.fail("a looping activation ran past twice its budget");
            }
            return;
        }
        let ticks = rng.below(BUDGET / 3);
        if ticks >= timer {
            self.run(timer);
            self.exit();
            return;
        }
        self.run(ticks);
        match rng.below(11) {
            0..=3 => {
                self.exit();
            }
            10 => {
                // A call another view's gate refuses: the refusal runs in that view, on
                // the caller's time, and may see an exit (e.g. the timer); the REFUSE
                // comes back as the answer to the caller's pending call (a matched reply).
                let to = rng.below(self.views as u64) as usize;
                self.switch(top.view, to, Switch::Other);
                self.run(rng.below(200));
                if rng.below(2) == 0 && self.exit_in(to) {
                    return;
                }
                let at_base = self.stack.len() == 1;
                self.switch(to, top.view, Switch::Reply { at_base });
            }
            4..=6 if self.stack.len() < 8 => {
                // Any view but itself (the manifest never lets a compartment call itself)
                // and but the main's (whose exports are not what is bounded here).
                let to = 1 + rng.below(self.views as u64 - 1) as usize;
                if to == top.view {
                    self.exit();
                    return;
                }
                self.switch(top.view, to, Switch::Call);
                self.stack.push(Act {
                    view: to,
                    spent: 0,
                    looping: rng.below(6) == 0,
                    refusing: rng.below(8) == 0,
                });
            }
            _ if self.stack.len() > 1 => {
                self.stack.pop();
                let to = self.top().view;
                let at_base = self.stack.len() == 1;
                self.switch(top.view, to, Switch::Reply { at_base });
            }
            _ => {
                self.exit();
            }
        }
    }
}

fn simulate(seed: u64, always_trapped: bool) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let views = 2 + rng.below(4) as usize;
    let budgets = Budgets {
        export: vec![BUDGET; views],
        main: vec![None; views],
    };
    let mut sim = Sim {
        now: 1_000,
        stack: vec![Act {
            view: 0,
            spent: 0,
            looping: false,
            refusing: false,
        }],
        dog: Watchdog::new(budgets, always_trapped),
        trapped: always_trapped,
        views,
        history: Vec::new(),
    };
    sim.dog.start_main(0, sim.now);
    for _ in 0..2_000 {
        sim.step(&mut rng);
    }
}

#[test]
fn only_overrunning_activations_are_stopped_and_loopers_always_are() {
    for seed in 0..1_500 {
        simulate(seed, false);
        simulate(seed, true);
    }
}
