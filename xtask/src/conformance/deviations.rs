//! Documented engine deviations from the SDM (docs/engines.md, "Bochs 2.7 deviations
//! the conformance suite shows"). A row of a configuration whose engine has one is
//! expected, besides the SDM outcome, to show the deviant outcome the oracle computes
//! under the deviation's assumption; when it does, the table marks the row "engine
//! deviates from SDM" instead of counting a mismatch — and never hides it.

use super::Config;
use super::oracle::Assume;
use super::rows::Row;

/// One deviation: what the engine does, where its source says so.
#[derive(Debug, Clone, Copy)]
pub struct Deviation {
    pub name: &'static str,
    pub source: &'static str,
    pub assume: Assume,
    /// Does the deviation bear on `row`?
    pub applies: fn(&Row) -> bool,
}

/// Bochs 2.7's, both in Bochs' own VMFUNC (hardware switching on a Bochs VMX model,
/// directly or as the L0 under Linux KVM).
pub const BOCHS_27: &[Deviation] = &[
    Deviation {
        name: "pending single-step #DB survives exit 59",
        source: "bochs/cpu/vmx.cc REL_2_7_FINAL VMexitSaveGuestState (lines 2423-2425) saves \
                 debug_trap & 0x400f as the pending debug exceptions on every VM exit; fixed \
                 upstream by 60cc8020e (2023-11-13)",
        assume: Assume {
            exit59_keeps_single_step: true,
            ..Assume::NONE
        },
        applies: |row| row.case.tf,
    },
    Deviation {
        name: "a cached page-crossing instruction skips the second page's execute check",
        source: "bochs/cpu/icache.cc REL_2_7_FINAL serveICacheMiss/boundaryFetch: only an \
                 instruction-cache miss runs prefetch() on the second page; cpu.cc \
                 getICacheEntry (lines 209-229) reuses the entry found by the first page's \
                 physical address",
        assume: Assume {
            cached_crossing_unchecked: true,
            ..Assume::NONE
        },
        applies: |row| row.case.warm,
    },
];

/// The deviations of `config`'s engine.
pub fn of(config: &Config) -> &'static [Deviation] {
    if config.bochs_vmfunc { BOCHS_27 } else { &[] }
}
