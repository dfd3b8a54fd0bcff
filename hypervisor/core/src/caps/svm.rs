//! AMD SVM capabilities, decoded from CPUID Fn8000_000A and the VM_CR MSR.
//!
//! Bit positions: AMD64 APM Vol. 2, §15.4 "Enabling SVM" (VM_CR.SVMDIS, EFER.SVME) and
//! APM Vol. 3 Appendix E "Obtaining Processor Information Via the CPUID Instruction" for
//! CPUID Fn8000_000A:
//! EAX[7:0] SvmRev, EBX NASID, EDX bit 0 NP, 1 LbrVirt, 2 SVML, 3 NRIPS, 4 TscRateMsr,
//! 5 VmcbClean, 6 FlushByAsid, 7 DecodeAssists.

use super::raw::RawDump;

/// EFER (APM Vol. 2 §3.1.7); bit 12 is SVME.
pub const MSR_EFER: u32 = 0xC000_0080;
/// VM_CR (APM Vol. 2 §15.30.1); bit 4 is SVMDIS, bit 3 LOCK.
pub const MSR_VM_CR: u32 = 0xC001_0114;
/// CPUID leaf with the SVM revision, ASID count and SVM feature flags.
pub const CPUID_SVM_LEAF: u32 = 0x8000_000A;

fn bit(value: u32, n: u32) -> bool {
    value.checked_shr(n).is_some_and(|v| v & 1 == 1)
}

/// What the CPU's SVM implementation offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SvmCaps {
    /// CPUID Fn8000_000A EAX[7:0]: SVM revision.
    pub revision: u8,
    /// CPUID Fn8000_000A EBX: number of ASIDs (ASID 0 is the host's).
    pub asids: u32,
    /// EDX bit 0: nested paging.
    pub npt: bool,
    /// EDX bit 3: the VMCB's next-RIP field is saved on #VMEXIT.
    pub nrips: bool,
    /// EDX bit 5: VMCB clean bits.
    pub vmcb_clean: bool,
    /// EDX bit 6: TLB_CONTROL may flush only the current ASID.
    pub flush_by_asid: bool,
    /// EDX bit 7: decode assists.
    pub decode_assists: bool,
    /// EFER as read, if it was.
    pub efer: Option<u64>,
    /// VM_CR as read, if it was.
    pub vm_cr: Option<u64>,
    /// VM_CR bit 4 (SVMDIS): firmware disabled SVM; setting EFER.SVME will #GP.
    /// False when VM_CR could not be read.
    pub svm_disabled_by_vm_cr: bool,
}

impl SvmCaps {
    /// Decodes SVM from a dump whose CPU reports CPUID.80000001h:ECX.SVM. `None` when leaf
    /// 0x8000000A was not read: without it the ASID count and NPT are unknown.
    pub fn decode(dump: &RawDump) -> Option<SvmCaps> {
        let leaf = dump.cpuid(CPUID_SVM_LEAF, 0)?;
        let vm_cr = dump.msr_value(MSR_VM_CR);
        Some(SvmCaps {
            // Masked to 8 bits: fits in u8.
            revision: (leaf.eax & 0xFF) as u8,
            asids: leaf.ebx,
            npt: bit(leaf.edx, 0),
            nrips: bit(leaf.edx, 3),
            vmcb_clean: bit(leaf.edx, 5),
            flush_by_asid: bit(leaf.edx, 6),
            decode_assists: bit(leaf.edx, 7),
            efer: dump.msr_value(MSR_EFER),
            vm_cr,
            svm_disabled_by_vm_cr: vm_cr.is_some_and(|v| v & (1 << 4) != 0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::raw::{CpuidRecord, MsrFault, MsrRecord};
    use alloc::vec;

    fn dump(edx: u32, vm_cr: Option<Result<u64, MsrFault>>) -> RawDump {
        let leaf = CpuidRecord {
            leaf: CPUID_SVM_LEAF,
            subleaf: 0,
            eax: 0x1,
            ebx: 16,
            ecx: 0,
            edx,
        };
        let msrs = vm_cr
            .map(|value| MsrRecord {
                index: MSR_VM_CR,
                value,
            })
            .into_iter()
            .collect();
        RawDump {
            cpuid: vec![leaf],
            msrs,
        }
    }

    #[test]
    fn decodes_each_edx_bit() {
        let none = SvmCaps::decode(&dump(0, None)).expect("leaf present");
        assert_eq!((none.revision, none.asids), (1, 16));
        assert!(!none.npt && !none.nrips && !none.vmcb_clean && !none.flush_by_asid);
        assert!(!none.decode_assists && !none.svm_disabled_by_vm_cr);
        let get = |b: u32| SvmCaps::decode(&dump(1 << b, None)).expect("leaf present");
        assert!(get(0).npt && !get(0).nrips);
        assert!(get(3).nrips && !get(3).npt);
        assert!(get(5).vmcb_clean);
        assert!(get(6).flush_by_asid);
        assert!(get(7).decode_assists);
        assert!(!get(1).npt && !get(2).nrips && !get(4).vmcb_clean);
    }

    #[test]
    fn vm_cr_svmdis() {
        let off = SvmCaps::decode(&dump(1, Some(Ok(0x18)))).expect("leaf");
        assert!(off.svm_disabled_by_vm_cr);
        assert_eq!(off.vm_cr, Some(0x18));
        let on = SvmCaps::decode(&dump(1, Some(Ok(0x08)))).expect("leaf");
        assert!(!on.svm_disabled_by_vm_cr);
        let faulted = SvmCaps::decode(&dump(1, Some(Err(MsrFault::Gp)))).expect("leaf");
        assert!(!faulted.svm_disabled_by_vm_cr);
        assert_eq!(faulted.vm_cr, None);
    }

    #[test]
    fn missing_leaf_means_no_svm() {
        assert_eq!(SvmCaps::decode(&RawDump::default()), None);
    }
}
