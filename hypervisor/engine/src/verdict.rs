//! The boot's verdict: `@@STATS` for every compartment, then whether each ended as its
//! module line expected (`expect=`), as `@@RESULT pass` or `@@RESULT fail reason=...` —
//! the last line of every boot, which the runner checks and bare-metal users read on the
//! serial port.

use crate::port::Memory;
use crate::world::World;
use alloc::string::String;
use alloc::vec::Vec;
use tessera_core::paging::EntryFormat;

/// How the boot ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// Why not (an L1 failure, or the compartments that did not end as expected).
    Fail(String),
}

impl Verdict {
    /// The `@@RESULT` line. Whitespace in the reason becomes `-`, so the value stays one
    /// token.
    pub fn line(&self) -> String {
        match self {
            Verdict::Pass => alloc::format!("{} pass", tessera_abi::transcript::RESULT),
            Verdict::Fail(reason) => {
                let reason: String = reason
                    .chars()
                    .map(|c| if c.is_whitespace() { '-' } else { c })
                    .collect();
                alloc::format!("{} fail reason={reason}", tessera_abi::transcript::RESULT)
            }
        }
    }

    /// Whether the boot passed.
    pub fn passed(&self) -> bool {
        *self == Verdict::Pass
    }
}

/// Prints `@@STATS` for every compartment and decides whether each ended as expected.
pub fn finish<F: EntryFormat, M: Memory>(world: &mut World<F, M>) -> Verdict {
    let mut mismatches: Vec<String> = Vec::new();
    for id in world.ids() {
        let (calls_in, calls_out) = world.call_counts(id);
        let view = world.view(id);
        let (carried_in, carried_out) = view.lifecycle.carried_calls;
        let (calls_in, calls_out) = (calls_in + carried_in, calls_out + carried_out);
        let line = view.stats.line(view.name(), calls_in, calls_out);
        let c = &view.compartment;
        match &c.outcome {
            Some(outcome) if c.expect.matches(outcome) => {}
            Some(outcome) => mismatches.push(alloc::format!(
                "{}:expected-{:?}-got-{outcome}",
                c.name,
                c.expect
            )),
            None => mismatches.push(alloc::format!("{}:never-ended", c.name)),
        }
        world.line(format_args!("{line}"));
    }
    if mismatches.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Fail(mismatches.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_lines_keep_the_reason_one_token() {
        assert_eq!(Verdict::Pass.line(), "@@RESULT pass");
        assert_eq!(
            Verdict::Fail("no backend: this CPU\thas none".into()).line(),
            "@@RESULT fail reason=no-backend:-this-CPU-has-none"
        );
    }
}
