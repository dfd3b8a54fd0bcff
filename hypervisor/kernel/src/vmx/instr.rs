//! The one home of the VMX instructions (SDM Vol. 3C §31 "VMX Instruction Reference").
//!
//! Each reports the SDM's three outcomes: success, VMfailInvalid (CF = 1: no current
//! VMCS) and VMfailValid (ZF = 1: the VM-instruction error field says why).

use core::arch::asm;

/// A VMX instruction failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmFail {
    /// CF = 1: no (valid) current VMCS.
    Invalid,
    /// ZF = 1, with the VM-instruction error number (SDM 3C §31.4, Table 31-1).
    Valid(u32),
}

fn outcome(rflags: u64) -> Result<(), VmFail> {
    const CF: u64 = 1 << 0;
    const ZF: u64 = 1 << 6;
    if rflags & CF != 0 {
        Err(VmFail::Invalid)
    } else if rflags & ZF != 0 {
        // The VM-instruction error field (SDM 3C §31.4) is read once the VMCS code exists;
        // VMXON's ZF = 1 means "VMXON executed in VMX root operation" (error 15).
        Err(VmFail::Valid(15))
    } else {
        Ok(())
    }
}

/// `VMXON` with the physical address of a 4 KiB VMXON region.
///
/// # Safety
/// `region` must be a 4 KiB-aligned physical page owned by the caller for as long as VMX
/// operation lasts, holding the VMCS revision identifier; CR0/CR4 must satisfy the VMX
/// fixed bits with CR4.VMXE set, and IA32_FEATURE_CONTROL must allow VMXON.
pub unsafe fn vmxon(region: u64) -> Result<(), VmFail> {
    let rflags: u64;
    // SAFETY: the caller guarantees the preconditions of VMXON.
    unsafe { asm!("vmxon [{}]", "pushfq", "pop {}", in(reg) &region, lateout(reg) rflags) };
    outcome(rflags)
}
