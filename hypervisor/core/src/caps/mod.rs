//! CPU capabilities: what to probe, the raw dump of what was probed, and its decoding.
//!
//! The kernel has no logic here: it reads CPUID leaf 0 and 0x8000_0000, asks
//! [`cpuid_leaves_to_read`] which leaves to read, records them in a [`RawDump`], asks
//! [`msrs_to_read`] which MSRs to read (reading each one so that #GP is caught and recorded
//! as [`MsrFault::Gp`]), prints the dump as `@@RAW` lines and the decoded
//! [`Capabilities`] as `@@CAP` lines. Tests decode the same `@@RAW` lines recorded from
//! real emulator boots.

mod raw;
mod report;
pub mod svm;
pub mod vmx;

use alloc::vec::Vec;

pub use raw::{CpuidRecord, DumpParseError, DumpProblem, MsrFault, MsrRecord, RAW_PREFIX, RawDump};
pub use svm::SvmCaps;
pub use vmx::{AllowedBits, EptVpidCaps, FeatureControl, FixedBits, VmxBasic, VmxCaps};

/// Every CPUID (leaf, subleaf) the kernel reads, before filtering by the CPU's maximum
/// leaves: vendor (0), features (1: VMX in ECX bit 5), structured features (7),
/// extended maximum (0x8000_0000), extended features (0x8000_0001: SVM in ECX bit 2),
/// address sizes (0x8000_0008) and SVM features (0x8000_000A).
pub const CPUID_LEAVES: &[(u32, u32)] = &[
    (0, 0),
    (1, 0),
    (7, 0),
    (0x8000_0000, 0),
    (0x8000_0001, 0),
    (0x8000_0008, 0),
    (0x8000_000A, 0),
];

const EXT_BASE: u32 = 0x8000_0000;
/// CPUID.1:ECX bit 5 = VMX (SDM Vol. 2A, CPUID, "Feature Information" table).
const CPUID1_ECX_VMX: u32 = 1 << 5;
/// CPUID.80000001h:ECX bit 2 = SVM (APM Vol. 3 Appendix E, Fn8000_0001_ECX).
const CPUID_EXT1_ECX_SVM: u32 = 1 << 2;
/// Default when CPUID 0x8000_0008 is absent (SDM Vol. 3A §4.1.4: MAXPHYADDR is 36 then).
const DEFAULT_MAXPHYADDR: u8 = 36;
/// Architectural ceiling on physical-address width (SDM Vol. 3A §4.1.4).
const MAX_MAXPHYADDR: u8 = 52;

/// The leaves of [`CPUID_LEAVES`] this CPU implements, given CPUID.0:EAX (`max_basic`) and
/// CPUID.80000000h:EAX (`max_ext`). Leaves 0 and 0x8000_0000 are always read (they are how
/// the maxima were learned); an extended maximum below 0x8000_0000 means no extended leaves.
/// A leaf above its maximum must not be trusted: Intel CPUs return the highest basic leaf's
/// data for it (SDM Vol. 2A, CPUID).
pub fn cpuid_leaves_to_read(max_basic: u32, max_ext: u32) -> Vec<(u32, u32)> {
    CPUID_LEAVES
        .iter()
        .copied()
        .filter(|&(leaf, _)| match leaf {
            0 | EXT_BASE => true,
            l if l < EXT_BASE => l <= max_basic,
            l => max_ext >= EXT_BASE && l <= max_ext,
        })
        .collect()
}

/// Whether CPUID.1:ECX.VMX is set in the dump.
pub fn has_vmx(dump: &RawDump) -> bool {
    dump.cpuid(1, 0)
        .is_some_and(|r| r.ecx & CPUID1_ECX_VMX != 0)
}

/// Whether CPUID.80000001h:ECX.SVM is set in the dump.
pub fn has_svm(dump: &RawDump) -> bool {
    dump.cpuid(0x8000_0001, 0)
        .is_some_and(|r| r.ecx & CPUID_EXT1_ECX_SVM != 0)
}

/// The MSRs to read once the CPUID leaves are in `dump`. With VMX: IA32_FEATURE_CONTROL
/// and every VMX capability MSR 0x480..=0x491, including those that may not exist (the
/// kernel records their #GP; a faulting 0x491 tells "no VMFUNC"). With SVM: EFER and VM_CR.
/// Gated on the feature bits, not the vendor string: other vendors implement VMX (VIA,
/// Zhaoxin) or SVM (Hygon) with the same MSRs, and Intel/AMD report the other's bit as 0.
pub fn msrs_to_read(dump: &RawDump) -> Vec<u32> {
    let mut msrs = Vec::new();
    if has_vmx(dump) {
        msrs.push(vmx::IA32_FEATURE_CONTROL);
        msrs.extend(vmx::IA32_VMX_BASIC..=vmx::IA32_VMX_VMFUNC);
    }
    if has_svm(dump) {
        msrs.push(svm::MSR_EFER);
        msrs.push(svm::MSR_VM_CR);
    }
    msrs
}

/// The CPU vendor, from the CPUID.0 vendor string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vendor {
    Intel,
    Amd,
    Other,
}

impl Vendor {
    pub fn name(self) -> &'static str {
        match self {
            Vendor::Intel => "intel",
            Vendor::Amd => "amd",
            Vendor::Other => "other",
        }
    }
}

/// Everything Tessera needs to know about the CPU, decoded from a [`RawDump`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    pub vendor: Vendor,
    /// CPUID.0 EBX, EDX, ECX as bytes (e.g. `GenuineIntel`); zeros if leaf 0 is missing.
    pub vendor_id: [u8; 12],
    /// Physical-address width: CPUID.80000008h:EAX[7:0], 36 if absent or zero, at most 52.
    pub maxphyaddr: u8,
    /// CET shadow stacks (CPUID.(EAX=7,ECX=0):ECX[7] CET_SS). Where present, EPTP bit 7
    /// is "enable supervisor shadow-stack control" rather than reserved (SDM 3C, EPTP).
    pub cet_ss: bool,
    /// Present when CPUID.1:ECX.VMX is set and the mandatory VMX MSRs were read.
    pub vmx: Option<VmxCaps>,
    /// Present when CPUID.80000001h:ECX.SVM is set and leaf 0x8000_000A was read.
    pub svm: Option<SvmCaps>,
}

impl Capabilities {
    /// Decodes a dump. Never fails: what is missing or faulted counts as absent.
    pub fn decode(dump: &RawDump) -> Capabilities {
        let mut vendor_id = [0u8; 12];
        if let Some(r) = dump.cpuid(0, 0) {
            // The vendor string is EBX, EDX, ECX in that order, little-endian (SDM Vol. 2A).
            for (chunk, reg) in vendor_id.chunks_exact_mut(4).zip([r.ebx, r.edx, r.ecx]) {
                chunk.copy_from_slice(&reg.to_le_bytes());
            }
        }
        let vendor = match &vendor_id {
            b"GenuineIntel" => Vendor::Intel,
            b"AuthenticAMD" => Vendor::Amd,
            _ => Vendor::Other,
        };
        let maxphyaddr = dump
            .cpuid(0x8000_0008, 0)
            .map(|r| r.eax.to_le_bytes()[0])
            .filter(|&w| w != 0)
            .map_or(DEFAULT_MAXPHYADDR, |w| w.min(MAX_MAXPHYADDR));
        let cet_ss = dump.cpuid(7, 0).is_some_and(|r| r.ecx & (1 << 7) != 0);
        Capabilities {
            vendor,
            vendor_id,
            maxphyaddr,
            cet_ss,
            vmx: if has_vmx(dump) {
                VmxCaps::decode(dump)
            } else {
                None
            },
            svm: if has_svm(dump) {
                SvmCaps::decode(dump)
            } else {
                None
            },
        }
    }

    /// Whether VMX with EPT is usable.
    pub fn ept(&self) -> bool {
        self.vmx.is_some_and(|v| v.ept)
    }

    /// Whether hardware EPTP switching (VMFUNC leaf 0) is usable.
    pub fn vmfunc_eptp_switching(&self) -> bool {
        self.vmx.is_some_and(|v| v.vmfunc_eptp_switching)
    }

    /// Whether SVM with nested paging is present.
    pub fn npt(&self) -> bool {
        self.svm.is_some_and(|s| s.npt)
    }
}

#[cfg(test)]
mod tests;
