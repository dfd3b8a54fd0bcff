//! The watchdog (DESIGN §6 property 10; docs/gates.md "Watchdog"): it bounds the time of
//! one *activation* — from the switch that enters an export to the switch that returns
//! from it, L1's time on its exits included, time in the compartments it calls excluded —
//! and it cannot be aimed: a caller cannot make it expire on a callee.
//!
//! Time is the TSC, read by L1 at every exit; the hardware timer (VMX-preemption timer,
//! or the local-APIC timer on SVM) only makes sure an exit comes when a budget can have
//! run out ([`Watchdog::timer`]). So a budget survives exits and counts L1's own work.
//!
//! With hardware VMFUNC, L1 does not see switches, so it cannot know whose activation a
//! tick belongs to. It runs in **hardware mode** with a timer of the smallest budget
//! (`period`); when that expires nobody is stopped: L1 turns to **trapped switching**
//! (VMFUNC raises #UD and L1 emulates it, exactly) and from then on sees every switch and
//! charges every activation exactly. The activation running at that moment is charged
//! from then on ("ambient": its earlier ticks are unknown, so it gets a whole budget, and
//! a caller that burned the period cannot make a callee overrun). Only an activation that
//! overran its own budget *in trapped mode*, and only while its own view executes, is
//! stopped: so a looping callee ends within `period + budget` ≤ 2 × its budget. When no
//! bounded activation is left (the thread is back in an unbounded `main`), L1 returns to
//! hardware mode. Engines without hardware VMFUNC have the same two phases: in hardware
//! mode L1 emulates each `VMFUNC` as the CPU would execute it, with no accounting (the
//! untrapped phase, [`Watchdog::untrapped_at`]), and in trapped mode as here.

use alloc::vec;
use alloc::vec::Vec;

/// Ticks a stopped-activation check waits when the overrunning activation is not the one
/// executing (its message is being refused by another view's gate: it comes back soon).
pub const GRACE: u64 = 1 << 14;

/// Per-view budgets in TSC ticks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budgets {
    /// Budget of one activation of each view's exports.
    pub export: Vec<u64>,
    /// Budget of each view's `main`, `None` when its manifest entry sets no `watchdog`.
    pub main: Vec<Option<u64>>,
}

impl Budgets {
    /// The smallest budget anything can have: the hardware-mode period.
    pub fn period(&self) -> u64 {
        let exports = self.export.iter().copied();
        let mains = self.main.iter().flatten().copied();
        exports.chain(mains).min().unwrap_or(u64::MAX).max(1)
    }
}

/// One activation on the watchdog's stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Activation {
    pub view: usize,
    /// The view that called it; `None` for a `main` or an ambient activation.
    pub caller: Option<usize>,
    /// Ticks charged to it so far.
    pub used: u64,
    /// Its budget; `None`: unbounded (a `main` without `watchdog`).
    pub budget: Option<u64>,
    /// Started by a reply into a view with no activation on the stack, above a seen one
    /// (`Watchdog::reply`): when it ends, its ticks go to the activation below it, the
    /// sender's, so that views taking turns at bouncing replies off each other spend the
    /// sender's budget, not a fresh one per turn.
    pub carry: bool,
}

/// How a switch L1 emulated in trapped mode ended, as the receiving gate decides it
/// (`crate::protocol::Decision`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switch {
    /// A CALL was accepted: a new activation of the receiver starts.
    Call,
    /// A reply matched the receiver's pending call: the sender's activation ends.
    /// `at_base`: the receiver is the running `main` and has no other pending call.
    Reply { at_base: bool },
    /// A refusal or a stray: no activation starts or ends.
    Other,
}

/// What L1 must do after a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing.
    Continue,
    /// Stop the executing view: its activation overran.
    Overrun { view: usize, budget: u64, used: u64 },
    /// Turn hardware switching off (VMFUNC traps from now on).
    Trap,
    /// Turn hardware switching back on.
    Untrap,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// L1 sees no switches: one period at a time, counted from `since`.
    Hardware { since: u64 },
    /// L1 sees every switch and charges [`Watchdog::stack`]'s top.
    Trapped,
}

/// The watchdog of one vCPU.
#[derive(Debug, Clone)]
pub struct Watchdog {
    budgets: Budgets,
    /// `budgets.period()`, computed once (it is needed at every exit).
    period: u64,
    /// Always trapped: every switch charged exactly, no hardware mode (no engine boots
    /// this way since issue 14, whose emulated engines have both phases; tests use it to
    /// follow activations from the start).
    always_trapped: bool,
    mode: Mode,
    main: usize,
    stack: Vec<Activation>,
    /// TSC of the last charge.
    last: u64,
}

impl Watchdog {
    pub fn new(budgets: Budgets, always_trapped: bool) -> Self {
        Watchdog {
            period: budgets.period(),
            budgets,
            always_trapped,
            mode: Mode::Trapped,
            main: 0,
            stack: Vec::new(),
            last: 0,
        }
    }

    /// The activations L1 knows of (trapped mode), outermost first.
    pub fn stack(&self) -> &[Activation] {
        &self.stack
    }

    #[inline]
    fn export(&self, view: usize) -> Option<u64> {
        Some(self.budgets.export.get(view).copied().unwrap_or(u64::MAX))
    }

    fn main_budget(&self) -> Option<u64> {
        self.budgets.main.get(self.main).copied().flatten()
    }

    /// The activation `view` runs when L1 cannot know which one it is: a fresh budget,
    /// unless it is the `main` at its base (`at_base`), which has the main's budget.
    fn ambient(&self, view: usize, at_base: bool) -> Activation {
        let budget = if view == self.main && at_base {
            self.main_budget()
        } else {
            self.export(view)
        };
        Activation {
            view,
            caller: None,
            used: 0,
            budget,
            carry: false,
        }
    }

    /// A `main` starts in view `main` at time `now`.
    pub fn start_main(&mut self, main: usize, now: u64) {
        self.main = main;
        self.last = now;
        self.stack = vec![self.ambient(main, true)];
        self.mode = if self.always_trapped {
            Mode::Trapped
        } else {
            Mode::Hardware { since: now }
        };
    }

    #[inline]
    fn charge(&mut self, now: u64) {
        if now == self.last {
            // The switch of the exit just checked (same TSC reading): nothing to charge.
            return;
        }
        let ticks = now.saturating_sub(self.last);
        self.last = now;
        if self.mode == Mode::Trapped
            && let Some(top) = self.stack.last_mut()
        {
            top.used = top.used.saturating_add(ticks);
        }
    }

    /// Whether a reply from view `from` to view `to` completes the activation on top (one
    /// whose call L1 saw): [`Watchdog::switched`] then pops it and ignores the reply's
    /// `at_base`, which L1 need not compute.
    #[inline]
    pub fn reply_completes(&self, from: usize, to: usize) -> bool {
        self.stack
            .last()
            .is_some_and(|top| top.view == from && top.caller == Some(to))
    }

    /// In trapped mode: view `from` switched to view `to`, whose gate decided `what`.
    #[inline]
    pub fn switched(&mut self, now: u64, from: usize, to: usize, what: Switch) {
        self.charge(now);
        if self.mode != Mode::Trapped {
            return;
        }
        match what {
            Switch::Call => {
                let budget = self.export(to);
                self.stack.push(Activation {
                    view: to,
                    caller: Some(from),
                    used: 0,
                    budget,
                    carry: false,
                });
            }
            Switch::Reply { at_base } => self.reply(from, to, at_base),
            Switch::Other => {}
        }
        if self.stack.is_empty() {
            self.stack.push(self.ambient(to, false));
        }
    }

    /// A reply from `from` that `to`'s gate matched to a pending call: `to`'s code runs
    /// next. It ends the top activation when that is `from`'s and `to` called it (a
    /// return L1 saw the call of). A reply into the view whose activation is on top (a
    /// refused call bouncing back to its caller, a frame a view forged in its own state
    /// page and answers to itself) ends and renews nothing. Otherwise, above an
    /// activation whose call L1 saw, nothing the sender or receiver arranged (a reply
    /// bounced off a third view) ends or renews one either: `to`'s time goes to its
    /// innermost activation, the stack unwinding to it, or, for a view with none, to a
    /// fresh one on top, which a reply onwards or back unwinds again and whose ticks then
    /// go to the sender's activation below it (`Activation::carry`); the `main` at its
    /// base starts the stack over. Above an ambient activation (L1 entered trapped mode
    /// inside it and does not know its caller) the reply ends it and the receiver's is
    /// ambient too.
    #[inline]
    fn reply(&mut self, from: usize, to: usize, at_base: bool) {
        if self.reply_completes(from, to) {
            self.stack.pop();
            if self.stack.last().is_some_and(|a| a.view == to) {
                return;
            }
        } else {
            let Some(top) = self.stack.last() else {
                return;
            };
            if top.view == to {
                return;
            }
            if top.carry {
                self.pop();
            } else if top.caller.is_none() {
                self.stack.pop();
                if self.stack.last().map(|a| a.view) != Some(to) {
                    self.stack.clear();
                    self.stack.push(self.ambient(to, at_base));
                }
                return;
            }
        }
        self.unwind_to(to, at_base);
    }

    /// `to`'s innermost activation on top: unwound to, or a fresh one (`reply`).
    fn unwind_to(&mut self, to: usize, at_base: bool) {
        if let Some(at) = self.stack.iter().rposition(|a| a.view == to) {
            while self.stack.len() > at + 1 {
                self.pop();
            }
        } else if at_base {
            self.stack.clear();
            self.stack.push(self.ambient(to, true));
        } else {
            let fresh = Activation {
                carry: true,
                ..self.ambient(to, false)
            };
            self.stack.push(fresh);
        }
    }

    /// Ends the top activation; one that carries hands its ticks to the one below.
    fn pop(&mut self) {
        if let Some(done) = self.stack.pop()
            && done.carry
            && let Some(below) = self.stack.last_mut()
        {
            below.used = below.used.saturating_add(done.used);
        }
    }

    /// At every exit, with view `current` executing and `at_base` as for [`Switch`]
    /// (`current` is the `main`, at its base).
    #[inline]
    pub fn check(&mut self, now: u64, current: usize, at_base: bool) -> Verdict {
        self.charge(now);
        match self.mode {
            Mode::Hardware { since } => {
                if now.saturating_sub(since) < self.period {
                    return Verdict::Continue;
                }
                let ambient = self.ambient(current, at_base);
                if ambient.budget.is_none() {
                    // Only an unbounded main runs: a new period.
                    self.mode = Mode::Hardware { since: now };
                    return Verdict::Continue;
                }
                self.stack = vec![ambient];
                self.mode = Mode::Trapped;
                Verdict::Trap
            }
            Mode::Trapped => {
                let Some(top) = self.stack.last().copied() else {
                    return Verdict::Continue;
                };
                if let Some(budget) = top.budget
                    && top.used >= budget
                    && top.view == current
                {
                    return Verdict::Overrun {
                        view: current,
                        budget,
                        used: top.used,
                    };
                }
                let unbounded = self.stack.len() == 1 && top.budget.is_none();
                if unbounded && !self.always_trapped {
                    self.mode = Mode::Hardware { since: now };
                    return Verdict::Untrap;
                }
                Verdict::Continue
            }
        }
    }

    /// After L1 repaired the chain (`crate::contain::settle`) and resumes `view`, whose
    /// activation is the `depth`-th (1-based) of the chain. The resumed one is a waiter,
    /// never the activation that was running, and it is its view's innermost activation
    /// (settle resumes a view only at its top frame): pop at least one activation, then up
    /// to the innermost one of `view`. If none is known (the stack began ambient above
    /// it), the waiter's activation becomes ambient.
    pub fn resumed(&mut self, now: u64, view: usize, depth: usize) {
        self.charge(now);
        if self.mode != Mode::Trapped {
            return;
        }
        self.pop();
        while self.stack.last().is_some_and(|a| a.view != view) {
            self.pop();
        }
        if self.stack.is_empty() {
            self.stack.push(self.ambient(view, depth == 1));
        }
    }
}

mod phase;
#[cfg(test)]
mod tests;
