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

/// The same Bochs 2.7 code under Linux KVM: KVM takes VM exits of its own that Tessera
/// never sees (an EPT violation in KVM's shadow of Tessera's EPT, the first time a page
/// is fetched from in a view), and Bochs saves a pending single step on those too, so
/// KVM's re-entry delivers the #DB before the instruction that was to be traced — in
/// both switching modes.
pub const BOCHS_27_UNDER_KVM: &[Deviation] = &[Deviation {
    name: "pending single-step #DB survives an exit KVM takes itself",
    source: "bochs/cpu/event.cc REL_2_7_FINAL lines 340-346 schedule the single step before              the instruction; vmx.cc VMexitSaveGuestState (lines 2423-2425) saves it into              KVM's vmcs02 on the EPT-violation exit; VM entry (vmx.cc lines 2124-2131)              delivers it at once",
    assume: Assume {
        single_step_before_instruction: true,
        ..Assume::NONE
    },
    applies: |row| row.case.tf,
}];

/// The deviations of `config`'s engine.
pub fn of(config: &Config) -> Vec<&'static Deviation> {
    let mut all = Vec::new();
    if config.bochs_vmfunc {
        all.extend(BOCHS_27);
    }
    if config.under_kvm {
        all.extend(BOCHS_27_UNDER_KVM);
    }
    all
}
