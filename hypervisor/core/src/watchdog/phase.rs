//! The watchdog's phase: hardware mode with its period running (untrapped: no switch is
//! counted) or trapped, and the timer each phase arms (docs/gates.md "Watchdog").

use super::{Activation, GRACE, Mode, Watchdog};

impl Watchdog {
    /// Whether VMFUNC must trap now.
    #[inline]
    pub fn trapped(&self) -> bool {
        self.mode == Mode::Trapped
    }

    /// Whether the watchdog counts no switch at `now`: hardware mode with its period still
    /// running, where [`Watchdog::check`] would say `Continue` and charge nothing. The
    /// emulated switch's fast path (`crate::vmfunc::fast_switch`) then switches without
    /// the watchdog, as the CPU's own `VMFUNC` does (charging resumes only after the
    /// period's end, which `check` sees at the next exit that is not taken that way).
    #[inline]
    pub fn untrapped_at(&self, now: u64) -> bool {
        self.untrapped_for(now).is_some()
    }

    /// [`Watchdog::untrapped_at`] with the ticks left of the period: then also
    /// [`Watchdog::timer`]`(now)`.
    #[inline]
    pub fn untrapped_for(&self, now: u64) -> Option<u64> {
        match self.mode {
            Mode::Hardware { since } => self.period.checked_sub(now.saturating_sub(since)),
            Mode::Trapped => None,
        }
        .filter(|left| *left > 0)
    }

    /// Whether [`Watchdog::check`] at `now` ends a hardware-mode period: the only check
    /// that reads its `at_base` (so the caller computes it only then).
    #[inline]
    pub fn period_over(&self, now: u64) -> bool {
        matches!(self.mode, Mode::Hardware { .. }) && !self.untrapped_at(now)
    }

    /// TSC ticks until the next exit must come (the value to arm the timer with).
    #[inline]
    pub fn timer(&self, now: u64) -> u64 {
        let period = self.period;
        match self.mode {
            Mode::Hardware { since } => period.saturating_sub(now.saturating_sub(since)).max(1),
            Mode::Trapped => match self.stack.last() {
                Some(Activation {
                    budget: Some(b),
                    used,
                    ..
                }) if used >= b => GRACE,
                Some(Activation {
                    budget: Some(b),
                    used,
                    ..
                }) => b - used,
                _ => period,
            },
        }
    }
}
