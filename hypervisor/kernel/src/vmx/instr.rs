//! The one home of the VMX instructions (SDM Vol. 3C §31 "VMX Instruction Reference").
//!
//! Each reports the SDM's three outcomes: success, VMfailInvalid (CF = 1: no current
//! VMCS) and VMfailValid (ZF = 1: the VM-instruction error field says why).

use core::arch::asm;
use tessera_core::rflags::Rflags;
use tessera_core::vmx::fields;

/// The flags a VMX instruction fails with: CF (VMfailInvalid) or ZF (VMfailValid).
const VMFAIL: Rflags = Rflags::CF.union(Rflags::ZF);

/// A VMX instruction failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmFail {
    /// CF = 1: no (valid) current VMCS.
    Invalid,
    /// ZF = 1, with the VM-instruction error number (SDM 3C §31.4, Table 31-1).
    Valid(u32),
}

impl core::fmt::Display for VmFail {
    /// `VMfailInvalid` or `VMfailValid-N-description` (SDM Table 31-1): one transcript
    /// value, no spaces.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let number = match self {
            VmFail::Invalid => None,
            VmFail::Valid(n) => Some(*n),
        };
        f.write_str(&tessera_core::vmx::instruction_error::value(number))
    }
}

fn outcome(rflags: u64) -> Result<(), VmFail> {
    let flags = Rflags::from_bits_retain(rflags);
    if flags.contains(Rflags::CF) {
        Err(VmFail::Invalid)
    } else if flags.contains(Rflags::ZF) {
        // ZF = 1 implies a current VMCS whose VM-instruction error field says why.
        Err(VmFail::Valid(vm_instruction_error()))
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

/// `VMCLEAR`: initialises a VMCS region and makes it not current.
///
/// # Safety
/// `vmcs` must be a 4 KiB-aligned physical page owned by the caller for the VMCS's life.
pub unsafe fn vmclear(vmcs: u64) -> Result<(), VmFail> {
    let rflags: u64;
    // SAFETY: the caller owns the page, which the CPU may now write.
    unsafe { asm!("vmclear [{}]", "pushfq", "pop {}", in(reg) &vmcs, lateout(reg) rflags) };
    outcome(rflags)
}

/// `VMPTRLD`: makes `vmcs` the current VMCS.
///
/// # Safety
/// As [`vmclear`]; the region must hold the revision identifier.
pub unsafe fn vmptrld(vmcs: u64) -> Result<(), VmFail> {
    let rflags: u64;
    // SAFETY: the caller owns the page, which the CPU now uses as the current VMCS.
    unsafe { asm!("vmptrld [{}]", "pushfq", "pop {}", in(reg) &vmcs, lateout(reg) rflags) };
    outcome(rflags)
}

/// The VM-instruction error field of the current VMCS (0 if even that cannot be read).
fn vm_instruction_error() -> u32 {
    let value: u64;
    let rflags: u64;
    // SAFETY: as in `vmread`: copies one field of the current VMCS into a register.
    unsafe {
        asm!("vmread {}, {}", "pushfq", "pop {}", lateout(reg) value, in(reg) u64::from(fields::VM_INSTRUCTION_ERROR), lateout(reg) rflags)
    };
    if Rflags::from_bits_retain(rflags).intersects(VMFAIL) {
        0
    } else {
        value as u32
    }
}

/// The outcome from the two flags a VMX instruction reports failure in, as `SETBE`
/// (CF or ZF) and `SETC` (CF) leave them: cheaper than saving RFLAGS on the success path
/// every exit takes several times (Bochs counts each instruction; so do the benchmarks).
#[inline(always)]
fn failed(either: u8, cf: u8) -> Result<(), VmFail> {
    if either == 0 {
        Ok(())
    } else if cf != 0 {
        Err(VmFail::Invalid)
    } else {
        // ZF: the error field says why (reading it cannot fail the same way: it exists
        // in every VMCS).
        Err(VmFail::Valid(vm_instruction_error()))
    }
}

/// `VMREAD` of one field of the current VMCS.
#[inline]
pub fn vmread(field: u32) -> Result<u64, VmFail> {
    let value: u64;
    let (either, cf): (u8, u8);
    // SAFETY: VMREAD only copies a field of the current VMCS into a register. Outside VMX
    // operation it raises #UD, which only a kernel bug can cause (the IDT reports it).
    unsafe {
        asm!("vmread {}, {}", "setbe {}", "setc {}", lateout(reg) value, in(reg) u64::from(field), lateout(reg_byte) either, lateout(reg_byte) cf, options(nostack))
    };
    failed(either, cf).map(|()| value)
}

/// `VMWRITE` of one field of the current VMCS.
///
/// # Safety
/// The value must not let the guest or the next VM exit break L1's memory safety:
/// host-state fields, the EPT pointer and every address field name memory that must stay
/// valid and owned by L1 while the VMCS may be used.
#[inline]
pub unsafe fn vmwrite(field: u32, value: u64) -> Result<(), VmFail> {
    let (either, cf): (u8, u8);
    // SAFETY: the caller vouches for what the field's value means.
    unsafe {
        asm!("vmwrite {}, {}", "setbe {}", "setc {}", in(reg) u64::from(field), in(reg) value, lateout(reg_byte) either, lateout(reg_byte) cf, options(nostack))
    };
    failed(either, cf)
}

/// `INVEPT` all-context (type 2; SDM 3C §31.3): drops every cached EPT translation.
pub fn invept_all() -> Result<(), VmFail> {
    let descriptor = [0u64; 2];
    let rflags: u64;
    // SAFETY: INVEPT only invalidates translation caches; the descriptor is a valid local.
    unsafe {
        asm!("invept {}, [{}]", "pushfq", "pop {}", in(reg) 2u64, in(reg) &descriptor, lateout(reg) rflags)
    };
    outcome(rflags)
}
