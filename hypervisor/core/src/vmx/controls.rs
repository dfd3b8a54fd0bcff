//! VM-execution, VM-exit and VM-entry controls computed from the capability MSRs.
//!
//! SDM Vol. 3D §A.3–§A.5: a control word is valid when every bit the capability MSR's
//! low half (allowed 0-settings) has set is 1 and every bit its high half (allowed
//! 1-settings) has clear is 0. So the value is `(desired | allowed0) & allowed1`, and a
//! control the hypervisor *requires* but whose allowed-1 bit is clear is an error that
//! names it. The TRUE MSRs are used when IA32_VMX_BASIC bit 55 is set (§A.2); the caps
//! decoder already chose them.

use crate::caps::{AllowedBits, VmxCaps};
use alloc::vec::Vec;
use core::fmt;

/// One control bit: its word, bit number and SDM name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Control {
    pub word: Word,
    pub bit: u32,
    pub name: &'static str,
}

/// The five control words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Word {
    Pin,
    Primary,
    Secondary,
    Exit,
    Entry,
}

const fn c(word: Word, bit: u32, name: &'static str) -> Control {
    Control { word, bit, name }
}

// Pin-based (SDM 3C §25.6.1, Table 25-5).
pub const EXTERNAL_INTERRUPT_EXITING: Control = c(Word::Pin, 0, "external-interrupt exiting");
pub const NMI_EXITING: Control = c(Word::Pin, 3, "NMI exiting");
pub const PREEMPTION_TIMER: Control = c(Word::Pin, 6, "activate VMX-preemption timer");
// Primary processor-based (Table 25-6).
pub const HLT_EXITING: Control = c(Word::Primary, 7, "HLT exiting");
pub const INVLPG_EXITING: Control = c(Word::Primary, 9, "INVLPG exiting");
pub const MWAIT_EXITING: Control = c(Word::Primary, 10, "MWAIT exiting");
pub const RDPMC_EXITING: Control = c(Word::Primary, 11, "RDPMC exiting");
pub const CR3_LOAD_EXITING: Control = c(Word::Primary, 15, "CR3-load exiting");
pub const CR8_LOAD_EXITING: Control = c(Word::Primary, 19, "CR8-load exiting");
pub const MOV_DR_EXITING: Control = c(Word::Primary, 23, "MOV-DR exiting");
pub const UNCONDITIONAL_IO_EXITING: Control = c(Word::Primary, 24, "unconditional I/O exiting");
pub const MONITOR_EXITING: Control = c(Word::Primary, 29, "MONITOR exiting");
pub const SECONDARY_CONTROLS: Control = c(Word::Primary, 31, "activate secondary controls");
// Secondary processor-based (Table 25-7).
pub const ENABLE_EPT: Control = c(Word::Secondary, 1, "enable EPT");
pub const DESCRIPTOR_TABLE_EXITING: Control = c(Word::Secondary, 2, "descriptor-table exiting");
pub const ENABLE_VPID: Control = c(Word::Secondary, 5, "enable VPID");
pub const WBINVD_EXITING: Control = c(Word::Secondary, 6, "WBINVD exiting");
pub const ENABLE_VM_FUNCTIONS: Control = c(Word::Secondary, 13, "enable VM functions");
// VM-exit (Table 25-13).
pub const HOST_ADDRESS_SPACE_SIZE: Control = c(Word::Exit, 9, "host address-space size");
pub const SAVE_IA32_EFER: Control = c(Word::Exit, 20, "save IA32_EFER");
pub const LOAD_HOST_IA32_EFER: Control = c(Word::Exit, 21, "load IA32_EFER");
// VM-entry (Table 25-15).
pub const IA32E_MODE_GUEST: Control = c(Word::Entry, 9, "IA-32e mode guest");
pub const LOAD_GUEST_IA32_EFER: Control = c(Word::Entry, 15, "load IA32_EFER");

/// Controls without which Tessera cannot contain a compartment (DESIGN §5: every
/// privileged action must exit) or run a 64-bit guest on EPT.
pub const REQUIRED: &[Control] = &[
    EXTERNAL_INTERRUPT_EXITING,
    NMI_EXITING,
    HLT_EXITING,
    INVLPG_EXITING,
    MWAIT_EXITING,
    RDPMC_EXITING,
    CR3_LOAD_EXITING,
    CR8_LOAD_EXITING,
    MOV_DR_EXITING,
    UNCONDITIONAL_IO_EXITING,
    MONITOR_EXITING,
    SECONDARY_CONTROLS,
    ENABLE_EPT,
    DESCRIPTOR_TABLE_EXITING,
    HOST_ADDRESS_SPACE_SIZE,
    SAVE_IA32_EFER,
    LOAD_HOST_IA32_EFER,
    IA32E_MODE_GUEST,
    LOAD_GUEST_IA32_EFER,
];

/// Controls used when the CPU has them.
pub const OPTIONAL: &[Control] = &[PREEMPTION_TIMER, ENABLE_VPID, WBINVD_EXITING];

/// What the caller wants beyond [`REQUIRED`] and [`OPTIONAL`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Request {
    /// Turn on "enable VM functions" (hardware EPTP switching); only if available.
    pub vm_functions: bool,
}

/// The control words to write, and which optional features ended up on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Controls {
    pub pin: u32,
    pub primary: u32,
    pub secondary: u32,
    pub exit: u32,
    pub entry: u32,
    pub preemption_timer: bool,
    pub vpid: bool,
    pub vm_functions: bool,
}

/// Required controls this CPU cannot set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingControls(pub Vec<Control>);

impl fmt::Display for MissingControls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("this CPU cannot set required VMX controls:")?;
        for (i, control) in self.0.iter().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            write!(
                f,
                "{sep}{} ({:?} bit {})",
                control.name, control.word, control.bit
            )?;
        }
        Ok(())
    }
}

fn allowed(caps: &VmxCaps, word: Word) -> AllowedBits {
    match word {
        Word::Pin => caps.pin,
        Word::Primary => caps.proc,
        // No secondary MSR: nothing may be set (allowed1 = 0).
        Word::Secondary => caps.proc2.unwrap_or_default(),
        Word::Exit => caps.exit,
        Word::Entry => caps.entry,
    }
}

/// Computes the control words for `caps`, or names every required control it lacks.
pub fn compute(caps: &VmxCaps, request: Request) -> Result<Controls, MissingControls> {
    let missing: Vec<Control> = REQUIRED
        .iter()
        .copied()
        .filter(|ctl| !allowed(caps, ctl.word).allows(ctl.bit))
        .collect();
    if !missing.is_empty() {
        return Err(MissingControls(missing));
    }
    let mut desired = [0u32; 5];
    let index = |w: Word| w as usize;
    let mut set = |ctl: Control| desired[index(ctl.word)] |= 1 << ctl.bit;
    REQUIRED.iter().copied().for_each(&mut set);
    let usable = |ctl: Control| allowed(caps, ctl.word).allows(ctl.bit);
    let preemption_timer = usable(PREEMPTION_TIMER);
    let vpid = usable(ENABLE_VPID);
    let vm_functions = request.vm_functions && caps.vmfunc_eptp_switching;
    for ctl in OPTIONAL.iter().copied().filter(|ctl| usable(*ctl)) {
        set(ctl);
    }
    if vm_functions {
        set(ENABLE_VM_FUNCTIONS);
    }
    let word = |w: Word| allowed(caps, w).apply(desired[index(w)]);
    Ok(Controls {
        pin: word(Word::Pin),
        primary: word(Word::Primary),
        secondary: word(Word::Secondary),
        exit: word(Word::Exit),
        entry: word(Word::Entry),
        preemption_timer,
        vpid,
        vm_functions,
    })
}
