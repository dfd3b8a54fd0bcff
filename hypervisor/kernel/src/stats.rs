//! Per-compartment counters, printed as `@@STATS` at shutdown.

use alloc::collections::BTreeMap;
use alloc::string::String;

/// Counters of one compartment.
#[derive(Debug, Default)]
pub struct Stats {
    pub exits_by_reason: BTreeMap<&'static str, u64>,
    pub faults: u64,
}

impl Stats {
    /// Counts one VM exit.
    pub fn count_exit(&mut self, reason: &'static str) {
        *self.exits_by_reason.entry(reason).or_default() += 1;
    }

    /// All exits.
    pub fn total_exits(&self) -> u64 {
        self.exits_by_reason.values().sum()
    }

    /// `@@STATS compartment=NAME calls_in=N calls_out=N faults=N exits=N exits.REASON=N ...`
    pub fn line(&self, name: &str, calls_in: u64, calls_out: u64) -> String {
        let mut line = alloc::format!(
            "@@STATS compartment={name} calls_in={calls_in} calls_out={calls_out} faults={} exits={}",
            self.faults,
            self.total_exits()
        );
        for (reason, n) in &self.exits_by_reason {
            line.push_str(&alloc::format!(" exits.{reason}={n}"));
        }
        line
    }
}
