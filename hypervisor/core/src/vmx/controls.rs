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

pub use super::control_flags::{
    EntryControls, ExitControls, PinControls, PrimaryControls, SecondaryControls,
};

/// One control bit: its word, bit number and SDM name (the bit comes from the word's
/// flag type, so each position is written once).
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

const fn pin(flag: PinControls, name: &'static str) -> Control {
    Control {
        word: Word::Pin,
        bit: flag.bits().trailing_zeros(),
        name,
    }
}

const fn primary(flag: PrimaryControls, name: &'static str) -> Control {
    Control {
        word: Word::Primary,
        bit: flag.bits().trailing_zeros(),
        name,
    }
}

const fn secondary(flag: SecondaryControls, name: &'static str) -> Control {
    Control {
        word: Word::Secondary,
        bit: flag.bits().trailing_zeros(),
        name,
    }
}

const fn exit(flag: ExitControls, name: &'static str) -> Control {
    Control {
        word: Word::Exit,
        bit: flag.bits().trailing_zeros(),
        name,
    }
}

const fn entry(flag: EntryControls, name: &'static str) -> Control {
    Control {
        word: Word::Entry,
        bit: flag.bits().trailing_zeros(),
        name,
    }
}

type Pin = PinControls;
type Primary = PrimaryControls;
type Secondary = SecondaryControls;

// Pin-based (SDM 3C §25.6.1, Table 25-5).
pub const EXTERNAL_INTERRUPT_EXITING: Control = pin(
    Pin::EXTERNAL_INTERRUPT_EXITING,
    "external-interrupt exiting",
);
pub const NMI_EXITING: Control = pin(Pin::NMI_EXITING, "NMI exiting");
pub const PREEMPTION_TIMER: Control = pin(
    Pin::ACTIVATE_PREEMPTION_TIMER,
    "activate VMX-preemption timer",
);
// Primary processor-based (Table 25-6).
pub const HLT_EXITING: Control = primary(Primary::HLT_EXITING, "HLT exiting");
pub const INVLPG_EXITING: Control = primary(Primary::INVLPG_EXITING, "INVLPG exiting");
pub const MWAIT_EXITING: Control = primary(Primary::MWAIT_EXITING, "MWAIT exiting");
pub const RDPMC_EXITING: Control = primary(Primary::RDPMC_EXITING, "RDPMC exiting");
pub const CR3_LOAD_EXITING: Control = primary(Primary::CR3_LOAD_EXITING, "CR3-load exiting");
pub const CR8_LOAD_EXITING: Control = primary(Primary::CR8_LOAD_EXITING, "CR8-load exiting");
pub const MOV_DR_EXITING: Control = primary(Primary::MOV_DR_EXITING, "MOV-DR exiting");
pub const UNCONDITIONAL_IO_EXITING: Control = primary(
    Primary::UNCONDITIONAL_IO_EXITING,
    "unconditional I/O exiting",
);
pub const MONITOR_EXITING: Control = primary(Primary::MONITOR_EXITING, "MONITOR exiting");
pub const SECONDARY_CONTROLS: Control = primary(
    Primary::ACTIVATE_SECONDARY_CONTROLS,
    "activate secondary controls",
);
// Secondary processor-based (Table 25-7).
pub const ENABLE_EPT: Control = secondary(Secondary::ENABLE_EPT, "enable EPT");
pub const DESCRIPTOR_TABLE_EXITING: Control = secondary(
    Secondary::DESCRIPTOR_TABLE_EXITING,
    "descriptor-table exiting",
);
pub const ENABLE_VPID: Control = secondary(Secondary::ENABLE_VPID, "enable VPID");
pub const WBINVD_EXITING: Control = secondary(Secondary::WBINVD_EXITING, "WBINVD exiting");
pub const ENABLE_VM_FUNCTIONS: Control =
    secondary(Secondary::ENABLE_VM_FUNCTIONS, "enable VM functions");
// VM-exit (Table 25-13).
pub const HOST_ADDRESS_SPACE_SIZE: Control = exit(
    ExitControls::HOST_ADDRESS_SPACE_SIZE,
    "host address-space size",
);
pub const SAVE_IA32_EFER: Control = exit(ExitControls::SAVE_IA32_EFER, "save IA32_EFER");
pub const LOAD_HOST_IA32_EFER: Control = exit(ExitControls::LOAD_IA32_EFER, "load IA32_EFER");
// VM-entry (Table 25-15).
pub const IA32E_MODE_GUEST: Control = entry(EntryControls::IA32E_MODE_GUEST, "IA-32e mode guest");
pub const LOAD_GUEST_IA32_EFER: Control = entry(EntryControls::LOAD_IA32_EFER, "load IA32_EFER");

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
    pub pin: PinControls,
    pub primary: PrimaryControls,
    pub secondary: SecondaryControls,
    pub exit: ExitControls,
    pub entry: EntryControls,
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
    // Retained, not truncated: allowed-0 bits force default-1 controls this crate does
    // not name.
    Ok(Controls {
        pin: PinControls::from_bits_retain(word(Word::Pin)),
        primary: PrimaryControls::from_bits_retain(word(Word::Primary)),
        secondary: SecondaryControls::from_bits_retain(word(Word::Secondary)),
        exit: ExitControls::from_bits_retain(word(Word::Exit)),
        entry: EntryControls::from_bits_retain(word(Word::Entry)),
        preemption_timer,
        vpid,
        vm_functions,
    })
}
