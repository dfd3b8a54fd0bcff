//! Intel VMX capabilities, decoded from the VMX capability MSRs.
//!
//! Bit positions: Intel SDM Vol. 3, Appendix A "VMX Capability Reporting Facility":
//! A.1 IA32_VMX_BASIC, A.3 control MSRs, A.6 IA32_VMX_MISC, A.7/A.8 CR0/CR4 fixed bits,
//! A.10 IA32_VMX_EPT_VPID_CAP, A.11 IA32_VMX_VMFUNC. Control bit numbers: Vol. 3C
//! "VM-Execution Control Fields" (Tables 24-5/24-6/24-7 in the 2016–2022 editions, 25-5/25-6/
//! 25-7 after the chapters were renumbered). IA32_FEATURE_CONTROL: Vol. 3C "Enabling and
//! Entering VMX Operation" (§23.7 in the 2016–2022 editions) and Vol. 4 Table 2-2.

use super::raw::RawDump;
use crate::vmx::controls::{PinControls, PrimaryControls, SecondaryControls};

pub const IA32_FEATURE_CONTROL: u32 = 0x3A;
pub const IA32_VMX_BASIC: u32 = 0x480;
pub const IA32_VMX_PINBASED_CTLS: u32 = 0x481;
pub const IA32_VMX_PROCBASED_CTLS: u32 = 0x482;
pub const IA32_VMX_EXIT_CTLS: u32 = 0x483;
pub const IA32_VMX_ENTRY_CTLS: u32 = 0x484;
pub const IA32_VMX_MISC: u32 = 0x485;
pub const IA32_VMX_CR0_FIXED0: u32 = 0x486;
pub const IA32_VMX_CR0_FIXED1: u32 = 0x487;
pub const IA32_VMX_CR4_FIXED0: u32 = 0x488;
pub const IA32_VMX_CR4_FIXED1: u32 = 0x489;
pub const IA32_VMX_PROCBASED_CTLS2: u32 = 0x48B;
pub const IA32_VMX_EPT_VPID_CAP: u32 = 0x48C;
pub const IA32_VMX_TRUE_PINBASED_CTLS: u32 = 0x48D;
pub const IA32_VMX_TRUE_PROCBASED_CTLS: u32 = 0x48E;
pub const IA32_VMX_TRUE_EXIT_CTLS: u32 = 0x48F;
pub const IA32_VMX_TRUE_ENTRY_CTLS: u32 = 0x490;
pub const IA32_VMX_VMFUNC: u32 = 0x491;

/// Pin-based control bit 6: activate VMX-preemption timer (SDM "Pin-Based VM-Execution Controls" table).
pub const PIN_PREEMPTION_TIMER: u32 = position(PinControls::ACTIVATE_PREEMPTION_TIMER.bits());
/// Primary processor-based control bit 31: activate secondary controls ("Primary Processor-Based VM-Execution Controls" table).
pub const PROC_SECONDARY_CONTROLS: u32 =
    position(PrimaryControls::ACTIVATE_SECONDARY_CONTROLS.bits());
/// Secondary processor-based control bits ("Secondary Processor-Based VM-Execution Controls" table).
pub const PROC2_ENABLE_EPT: u32 = position(SecondaryControls::ENABLE_EPT.bits());
pub const PROC2_ENABLE_VPID: u32 = position(SecondaryControls::ENABLE_VPID.bits());
pub const PROC2_UNRESTRICTED_GUEST: u32 = position(SecondaryControls::UNRESTRICTED_GUEST.bits());
pub const PROC2_ENABLE_VMFUNC: u32 = position(SecondaryControls::ENABLE_VM_FUNCTIONS.bits());
pub const PROC2_EPT_VIOLATION_VE: u32 = position(SecondaryControls::EPT_VIOLATION_VE.bits());

/// The bit number of a one-bit control mask.
const fn position(mask: u32) -> u32 {
    mask.trailing_zeros()
}

fn bit(value: u64, n: u32) -> bool {
    value.checked_shr(n).is_some_and(|v| v & 1 == 1)
}

/// IA32_VMX_BASIC (SDM Vol. 3 §A.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VmxBasic {
    pub raw: u64,
    /// Bits 30:0: the VMCS revision identifier to write at the start of VMXON/VMCS regions.
    pub revision_id: u32,
    /// Bits 44:32: bytes to allocate for the VMXON region and each VMCS (at most 4096).
    pub vmcs_size: u16,
    /// Bits 53:50: memory type for VMCS accesses (6 = write-back).
    pub memory_type: u8,
    /// Bit 54: VM exits for INS/OUTS report instruction information.
    pub ins_outs_info: bool,
    /// Bit 55: the TRUE control MSRs (0x48D–0x490) exist and may clear default-1 controls.
    pub true_controls: bool,
}

impl VmxBasic {
    pub fn decode(raw: u64) -> Self {
        // Every mask below keeps the value inside the target type, so the casts cannot truncate.
        VmxBasic {
            raw,
            revision_id: (raw & 0x7FFF_FFFF) as u32,
            vmcs_size: ((raw >> 32) & 0x1FFF) as u16,
            memory_type: ((raw >> 50) & 0xF) as u8,
            ins_outs_info: bit(raw, 54),
            true_controls: bit(raw, 55),
        }
    }
}

/// A VMX control capability MSR (SDM Vol. 3 §A.3): which control bits must be 1 and
/// which may be 1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AllowedBits {
    /// Bits 31:0 of the MSR, the allowed 0-settings: a bit set here must be 1.
    pub allowed0: u32,
    /// Bits 63:32 of the MSR, the allowed 1-settings: a bit set here may be 1.
    pub allowed1: u32,
}

impl AllowedBits {
    pub fn from_msr(raw: u64) -> Self {
        // Low and high halves of a 64-bit value: each fits in u32 by construction.
        AllowedBits {
            allowed0: (raw & 0xFFFF_FFFF) as u32,
            allowed1: (raw >> 32) as u32,
        }
    }

    /// Whether control bit `n` may be set to 1.
    pub fn allows(&self, n: u32) -> bool {
        bit(u64::from(self.allowed1), n)
    }

    /// Whether control bit `n` must be 1.
    pub fn requires(&self, n: u32) -> bool {
        bit(u64::from(self.allowed0), n)
    }

    /// `wanted` with the must-be-1 bits set and the may-not-be-1 bits cleared.
    pub fn apply(&self, wanted: u32) -> u32 {
        (wanted | self.allowed0) & self.allowed1
    }

    /// Whether every bit of `wanted` may be 1 (a control value requesting them is valid
    /// after [`AllowedBits::apply`] without losing any of them).
    pub fn allows_all(&self, wanted: u32) -> bool {
        wanted & !self.allowed1 == 0
    }
}

/// IA32_VMX_EPT_VPID_CAP (SDM Vol. 3 §A.10).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EptVpidCaps {
    pub raw: u64,
    /// Bit 0: EPT entries may be execute-only.
    pub execute_only: bool,
    /// Bit 6: 4-level EPT page walk.
    pub walk4: bool,
    /// Bit 7: 5-level EPT page walk.
    pub walk5: bool,
    /// Bit 8: EPT paging structures may be uncacheable.
    pub uc: bool,
    /// Bit 14: EPT paging structures may be write-back.
    pub wb: bool,
    /// Bit 16: 2-MiB EPT pages (PDE with bit 7).
    pub large_2m: bool,
    /// Bit 17: 1-GiB EPT pages (PDPTE with bit 7).
    pub large_1g: bool,
    /// Bit 20: INVEPT is supported.
    pub invept: bool,
    /// Bit 21: accessed and dirty flags for EPT.
    pub accessed_dirty: bool,
    /// Bit 25: single-context INVEPT.
    pub invept_single: bool,
    /// Bit 26: all-context INVEPT.
    pub invept_all: bool,
    /// Bit 32: INVVPID is supported.
    pub invvpid: bool,
}

impl EptVpidCaps {
    pub fn decode(raw: u64) -> Self {
        EptVpidCaps {
            raw,
            execute_only: bit(raw, 0),
            walk4: bit(raw, 6),
            walk5: bit(raw, 7),
            uc: bit(raw, 8),
            wb: bit(raw, 14),
            large_2m: bit(raw, 16),
            large_1g: bit(raw, 17),
            invept: bit(raw, 20),
            accessed_dirty: bit(raw, 21),
            invept_single: bit(raw, 25),
            invept_all: bit(raw, 26),
            invvpid: bit(raw, 32),
        }
    }
}

/// IA32_FEATURE_CONTROL (MSR 0x3A; SDM Vol. 3C "Enabling and Entering VMX Operation").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeatureControl {
    pub raw: u64,
    /// Bit 0: the MSR is locked until reset (VMXON needs it locked).
    pub locked: bool,
    /// Bit 2: VMXON is allowed outside SMX operation.
    pub vmx_outside_smx: bool,
}

impl FeatureControl {
    pub fn decode(raw: u64) -> Self {
        FeatureControl {
            raw,
            locked: bit(raw, 0),
            vmx_outside_smx: bit(raw, 2),
        }
    }

    /// Firmware locked the MSR with VMX outside SMX disabled: VMXON will fault.
    pub fn vmx_locked_off(&self) -> bool {
        self.locked && !self.vmx_outside_smx
    }
}

/// Fixed bits of a control register in VMX operation (SDM Vol. 3 §A.7, §A.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedBits {
    /// A bit set here must be 1 in the register.
    pub fixed0: u64,
    /// A bit clear here must be 0 in the register.
    pub fixed1: u64,
}

impl FixedBits {
    /// `value` adjusted to the fixed bits.
    pub fn apply(&self, value: u64) -> u64 {
        (value | self.fixed0) & self.fixed1
    }
}

/// What the CPU's VMX implementation offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VmxCaps {
    pub basic: VmxBasic,
    /// Whether the control pairs below came from the TRUE MSRs (0x48D–0x490).
    pub controls_from_true_msrs: bool,
    pub pin: AllowedBits,
    pub proc: AllowedBits,
    pub exit: AllowedBits,
    pub entry: AllowedBits,
    /// IA32_VMX_PROCBASED_CTLS2, if primary control bit 31 may be 1 and the MSR was read.
    pub proc2: Option<AllowedBits>,
    /// IA32_VMX_EPT_VPID_CAP, if secondary controls may enable EPT or VPID and it was read.
    pub ept_vpid: Option<EptVpidCaps>,
    /// IA32_VMX_VMFUNC, if secondary control bit 13 may be 1 and the MSR was read.
    pub vmfunc: Option<u64>,
    /// IA32_VMX_MISC bits 4:0: the preemption timer counts down by 1 each time bit X of
    /// the TSC changes, X being this rate (SDM Vol. 3 §A.6).
    pub preemption_timer_rate: u8,
    pub misc_raw: u64,
    pub cr0: FixedBits,
    pub cr4: FixedBits,
    /// IA32_FEATURE_CONTROL, if it was read.
    pub feature_control: Option<FeatureControl>,
    pub ept: bool,
    pub vpid: bool,
    pub unrestricted_guest: bool,
    pub vmfunc_eptp_switching: bool,
    pub ve: bool,
    pub preemption_timer: bool,
}

impl VmxCaps {
    /// Decodes the VMX MSRs of a dump. `None` when an MSR every VMX implementation has
    /// (0x480–0x489; SDM Vol. 3 Appendix A) is missing or faulted: VMX cannot be set up without
    /// them. Optional MSRs that are missing or faulted make their feature absent.
    pub fn decode(dump: &RawDump) -> Option<VmxCaps> {
        let basic = VmxBasic::decode(dump.msr_value(IA32_VMX_BASIC)?);
        let (controls_from_true_msrs, [pin, proc, exit, entry]) = control_msrs(dump, &basic)?;
        let misc_raw = dump.msr_value(IA32_VMX_MISC)?;
        let cr0 = FixedBits {
            fixed0: dump.msr_value(IA32_VMX_CR0_FIXED0)?,
            fixed1: dump.msr_value(IA32_VMX_CR0_FIXED1)?,
        };
        let cr4 = FixedBits {
            fixed0: dump.msr_value(IA32_VMX_CR4_FIXED0)?,
            fixed1: dump.msr_value(IA32_VMX_CR4_FIXED1)?,
        };

        let proc2 = proc
            .allows(PROC_SECONDARY_CONTROLS)
            .then(|| {
                dump.msr_value(IA32_VMX_PROCBASED_CTLS2)
                    .map(AllowedBits::from_msr)
            })
            .flatten();
        let proc2_allows = |n| proc2.is_some_and(|p| p.allows(n));
        let ept_vpid = (proc2_allows(PROC2_ENABLE_EPT) || proc2_allows(PROC2_ENABLE_VPID))
            .then(|| {
                dump.msr_value(IA32_VMX_EPT_VPID_CAP)
                    .map(EptVpidCaps::decode)
            })
            .flatten();
        let vmfunc = proc2_allows(PROC2_ENABLE_VMFUNC)
            .then(|| dump.msr_value(IA32_VMX_VMFUNC))
            .flatten();

        let ept = proc2_allows(PROC2_ENABLE_EPT) && ept_vpid.is_some();
        Some(VmxCaps {
            basic,
            controls_from_true_msrs,
            pin,
            proc,
            exit,
            entry,
            proc2,
            ept_vpid,
            vmfunc,
            // Masked to 5 bits: fits in u8.
            preemption_timer_rate: (misc_raw & 0x1F) as u8,
            misc_raw,
            cr0,
            cr4,
            feature_control: dump
                .msr_value(IA32_FEATURE_CONTROL)
                .map(FeatureControl::decode),
            ept,
            vpid: proc2_allows(PROC2_ENABLE_VPID) && ept_vpid.is_some(),
            unrestricted_guest: proc2_allows(PROC2_UNRESTRICTED_GUEST),
            // IA32_VMX_VMFUNC bit 0 = EPTP switching (A.11). EPTP switching also needs EPT
            // enabled (SDM Vol. 3C VM-entry checks on VM-execution control fields, §26.2.1.1 in the
            // 2016–2022 editions), so without EPT it is of no use.
            vmfunc_eptp_switching: ept && vmfunc.is_some_and(|v| bit(v, 0)),
            ve: proc2_allows(PROC2_EPT_VIOLATION_VE),
            preemption_timer: pin.allows(PIN_PREEMPTION_TIMER),
        })
    }

    /// The EPT capabilities when EPT is usable.
    pub fn ept_caps(&self) -> Option<&EptVpidCaps> {
        if self.ept {
            self.ept_vpid.as_ref()
        } else {
            None
        }
    }
}

/// The pin-based, primary processor-based, exit and entry control MSRs, and whether they
/// came from the TRUE MSRs. `None` when a legacy one is missing.
fn control_msrs(dump: &RawDump, basic: &VmxBasic) -> Option<(bool, [AllowedBits; 4])> {
    let legacy = [
        IA32_VMX_PINBASED_CTLS,
        IA32_VMX_PROCBASED_CTLS,
        IA32_VMX_EXIT_CTLS,
        IA32_VMX_ENTRY_CTLS,
    ];
    let truer = [
        IA32_VMX_TRUE_PINBASED_CTLS,
        IA32_VMX_TRUE_PROCBASED_CTLS,
        IA32_VMX_TRUE_EXIT_CTLS,
        IA32_VMX_TRUE_ENTRY_CTLS,
    ];
    // With BASIC bit 55 the TRUE MSRs report the real allowed 0-settings (A.3.1). If any
    // of them is unreadable, the legacy MSRs are a safe superset of what must be 1.
    let read4 = |idx: [u32; 4]| -> Option<[AllowedBits; 4]> {
        let mut out = [AllowedBits::default(); 4];
        for (slot, msr) in out.iter_mut().zip(idx) {
            *slot = AllowedBits::from_msr(dump.msr_value(msr)?);
        }
        Some(out)
    };
    let true_pairs = if basic.true_controls {
        read4(truer)
    } else {
        None
    };
    match true_pairs {
        Some(pairs) => Some((true, pairs)),
        None => Some((false, read4(legacy)?)),
    }
}

#[cfg(test)]
#[path = "vmx_tests.rs"]
mod tests;
