//! Per-compartment counters, printed as `@@STATS` at the end of the boot.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

/// Counters of one compartment.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stats {
    /// VM exits in its view, by the backend's short name for the reason (a handful of
    /// reasons: a list searched by pointer first is cheaper per exit than a map).
    exits_by_reason: Vec<(&'static str, u64)>,
    /// Where the last reason counted is in `exits_by_reason`: tried first (a view's
    /// exits come in runs of one reason, the emulated switch's above all).
    last: usize,
    /// Times L1 stopped it.
    pub faults: u64,
    /// Times L1 restarted it from its pristine image.
    pub restarts: u64,
}

impl Stats {
    /// Counts one VM exit: a backend names a reason with the same `&'static str` every
    /// time, so one pass comparing pointers finds it (every exit, the emulated switch's
    /// included, pays for this); the names are compared only when that misses.
    #[inline]
    pub fn count_exit(&mut self, reason: &'static str) {
        if let Some((r, n)) = self.exits_by_reason.get_mut(self.last)
            && core::ptr::eq(*r, reason)
        {
            *n += 1;
            return;
        }
        match self
            .exits_by_reason
            .iter()
            .position(|(r, _)| core::ptr::eq(*r, reason))
        {
            Some(i) => self.count_at(i),
            None => self.count_new(reason),
        }
    }

    fn count_at(&mut self, i: usize) {
        self.exits_by_reason[i].1 += 1;
        self.last = i;
    }

    #[cold]
    fn count_new(&mut self, reason: &'static str) {
        match self.exits_by_reason.iter().position(|(r, _)| *r == reason) {
            Some(i) => self.count_at(i),
            None => {
                self.last = self.exits_by_reason.len();
                self.exits_by_reason.push((reason, 1));
            }
        }
    }

    /// All exits.
    pub fn total_exits(&self) -> u64 {
        self.exits_by_reason.iter().map(|(_, n)| n).sum()
    }

    /// Exits by reason, in the order of the reasons' names.
    pub fn exits_by_reason(&self) -> Vec<(&'static str, u64)> {
        let mut sorted = self.exits_by_reason.clone();
        sorted.sort_unstable();
        sorted
    }

    /// `@@STATS compartment=NAME calls_in=N calls_out=N faults=N restarts=N exits=N
    /// exits.REASON=N ...`
    pub fn line(&self, name: &str, calls_in: u64, calls_out: u64) -> String {
        let mut line = alloc::format!(
            "@@STATS compartment={name} calls_in={calls_in} calls_out={calls_out} faults={} restarts={} exits={}",
            self.faults,
            self.restarts,
            self.total_exits()
        );
        for (reason, n) in self.exits_by_reason() {
            let _ = write!(line, " exits.{reason}={n}");
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_lists_exits_by_reason_in_order() {
        let mut s = Stats::default();
        s.count_exit("vmcall");
        s.count_exit("cpuid");
        s.count_exit("vmcall");
        s.faults = 1;
        assert_eq!(
            s.line("a", 2, 3),
            "@@STATS compartment=a calls_in=2 calls_out=3 faults=1 restarts=0 exits=3 exits.cpuid=1 exits.vmcall=2"
        );
    }

    #[test]
    fn a_reason_is_counted_once_whatever_string_names_it() {
        let mut s = Stats::default();
        s.count_exit("exception");
        // The same name at another address (the pointer pass misses, the names match).
        let other: &'static str = alloc::string::String::from("exception").leak();
        assert!(!core::ptr::eq(other, "exception"));
        s.count_exit(other);
        s.count_exit("exception");
        assert_eq!(s.exits_by_reason(), [("exception", 3)]);
        assert_eq!(s.total_exits(), 3);
    }
}
