//! Writing a VMCS: controls from core, host state describing this kernel, and the guest
//! state of a 64-bit compartment (SDM 3C §25 "Virtual-Machine Control Structures", §27.2
//! and §27.3 for the checks VM entry makes on them).

use super::instr::{self, VmFail, vmwrite};
use crate::cpu::{Cr, rdmsr_safe, read_cr, read_cr3};
use crate::percpu::CpuIndex;
use tessera_core::caps::VmxCaps;
use tessera_core::efer::Efer;
use tessera_core::guest::{self, access_rights as ar};
use tessera_core::rflags::Rflags;
use tessera_core::vmx::controls::Controls;
use tessera_core::vmx::fields::*;
use x86::controlregs::{Cr0, Cr4};
use x86::msr::IA32_EFER;

/// EFER.LME | EFER.LMA: the guest is in IA-32e mode (SDM 3C §27.3.1.1).
const GUEST_EFER: Efer = Efer::LONG_MODE;
/// CR0: PE, EM, ET, NE, WP, PG — before the fixed bits are applied. EM = 1: every x87,
/// MMX and SSE instruction faults (#NM, #UD), so no FPU state can carry anything between
/// compartments, at no cost per call (compartments are built soft-float).
const CR0_BITS: Cr0 = Cr0::CR0_PROTECTED_MODE
    .union(Cr0::CR0_EMULATE_COPROCESSOR)
    .union(Cr0::CR0_EXTENSION_TYPE)
    .union(Cr0::CR0_NUMERIC_ERROR)
    .union(Cr0::CR0_WRITE_PROTECT)
    .union(Cr0::CR0_ENABLE_PAGING);
/// CR4: PAE — VMXE comes from the fixed-0 MSR and is hidden by the read shadow.
const CR4_BITS: Cr4 = Cr4::CR4_ENABLE_PAE;

/// A VMCS region that is current on this CPU.
#[derive(Debug)]
pub struct Vmcs {
    /// Physical address of the region.
    pub region: u64,
    /// Whether VMLAUNCH has succeeded since the last VMCLEAR.
    pub launched: bool,
}

/// Writes one field. Every caller passes values that describe memory L1 owns.
fn write(field: u32, value: u64) -> Result<(), VmFail> {
    // SAFETY: this module writes only controls computed by core, host state describing
    // this kernel, and guest state confined by EPT; see each caller.
    unsafe { vmwrite(field, value) }
}

impl Vmcs {
    /// VMCLEAR + VMPTRLD on `region` (a zeroed frame owned for the rest of the run, its
    /// first word already the revision identifier, SDM 3C §25.2), then every control and
    /// host-state field describing CPU `cpu` (the one executing this: its GDT and TSS).
    pub fn new(region: u64, controls: &Controls, cpu: CpuIndex) -> Result<Self, VmFail> {
        // SAFETY: an owned, aligned page holding the revision identifier (the caller).
        unsafe { instr::vmclear(region)? };
        // SAFETY: as above.
        unsafe { instr::vmptrld(region)? };
        let vmcs = Vmcs {
            region,
            launched: false,
        };
        vmcs.write_controls(controls)?;
        vmcs.write_host_state(cpu)?;
        Ok(vmcs)
    }

    fn write_controls(&self, c: &Controls) -> Result<(), VmFail> {
        write(PIN_BASED_CONTROLS, c.pin.bits().into())?;
        write(PRIMARY_PROC_CONTROLS, c.primary.bits().into())?;
        write(SECONDARY_PROC_CONTROLS, c.secondary.bits().into())?;
        write(EXIT_CONTROLS, c.exit.bits().into())?;
        write(ENTRY_CONTROLS, c.entry.bits().into())?;
        // Every exception exits (DESIGN §2: L2 has no IDT); with PFEC mask = match = 0
        // every #PF matches, so bit 14 makes every page fault exit (SDM 3C §26.2).
        write(EXCEPTION_BITMAP, 0xFFFF_FFFF)?;
        write(PAGE_FAULT_ERROR_MASK, 0)?;
        write(PAGE_FAULT_ERROR_MATCH, 0)?;
        // No CR3-target values: every MOV to CR3 exits (CR3-load exiting).
        write(CR3_TARGET_COUNT, 0)?;
        write(EXIT_MSR_STORE_COUNT, 0)?;
        write(EXIT_MSR_LOAD_COUNT, 0)?;
        write(ENTRY_MSR_LOAD_COUNT, 0)?;
        write(ENTRY_INTERRUPTION_INFO, 0)?;
        // Every CR0/CR4 bit is host-owned: a guest write that changes any bit exits.
        write(CR0_GUEST_HOST_MASK, u64::MAX)?;
        write(CR4_GUEST_HOST_MASK, u64::MAX)?;
        if c.vpid {
            write(VPID, 1)?;
        }
        Ok(())
    }

    fn write_host_state(&self, cpu: CpuIndex) -> Result<(), VmFail> {
        write(HOST_CR0, read_cr(Cr::Cr0))?;
        write(HOST_CR3, read_cr3())?;
        write(HOST_CR4, read_cr(Cr::Cr4))?;
        write(HOST_CS_SELECTOR, crate::gdt::CODE.into())?;
        write(HOST_SS_SELECTOR, crate::gdt::DATA.into())?;
        write(HOST_DS_SELECTOR, crate::gdt::DATA.into())?;
        write(HOST_ES_SELECTOR, crate::gdt::DATA.into())?;
        write(HOST_FS_SELECTOR, 0)?;
        write(HOST_GS_SELECTOR, 0)?;
        write(HOST_TR_SELECTOR, crate::gdt::TSS_SELECTOR.into())?;
        write(HOST_FS_BASE, 0)?;
        write(HOST_GS_BASE, 0)?;
        write(HOST_TR_BASE, crate::gdt::tss_base(cpu))?;
        write(HOST_GDTR_BASE, crate::gdt::gdt_base(cpu))?;
        write(HOST_IDTR_BASE, crate::idt::base())?;
        write(HOST_SYSENTER_CS, 0)?;
        write(HOST_SYSENTER_ESP, 0)?;
        write(HOST_SYSENTER_EIP, 0)?;
        write(
            HOST_IA32_EFER,
            rdmsr_safe(IA32_EFER).unwrap_or(Efer::LONG_MODE.bits()),
        )?;
        Ok(())
    }

    /// Guest state for a fresh start of a compartment at `rip` with stack `rsp`, in
    /// the view `eptp`. Segment and table state come from `tessera_core::guest`.
    pub fn start_guest(
        &mut self,
        caps: &VmxCaps,
        rip: u64,
        rsp: u64,
        eptp: u64,
    ) -> Result<(), VmFail> {
        let cr0 = caps.cr0.apply(CR0_BITS.bits() as u64);
        let cr4 = caps.cr4.apply(CR4_BITS.bits() as u64);
        write(GUEST_CR0, cr0)?;
        write(CR0_READ_SHADOW, cr0)?;
        write(GUEST_CR4, cr4)?;
        write(CR4_READ_SHADOW, cr4 & !(Cr4::CR4_ENABLE_VMX.bits() as u64))?;
        write(GUEST_CR3, guest::PAGE_TABLES_GPA)?;
        write(GUEST_DR7, 0x400)?;
        write(GUEST_IA32_DEBUGCTL, 0)?;
        write(GUEST_IA32_EFER, GUEST_EFER.bits())?;
        write(GUEST_RSP, rsp)?;
        write(GUEST_RIP, rip)?;
        // IF=1: with external-interrupt exiting the guest's IF blocks nothing (SDM Vol. 3C
        // 25.6.1), but Bochs computes its interrupt mask from the guest's RFLAGS before it
        // marks itself in VMX non-root operation, so a guest entered with IF=0 takes no
        // external-interrupt exit there. Under KVM in Bochs (nested-kvm) that starves L0
        // of its timer, and with it KVM's emulation of the watchdog (preemption timer).
        write(GUEST_RFLAGS, Rflags::CLEAN.bits())?;
        write_guest_segments()?;
        write(GUEST_SYSENTER_CS, 0)?;
        write(GUEST_SYSENTER_ESP, 0)?;
        write(GUEST_SYSENTER_EIP, 0)?;
        write(GUEST_INTERRUPTIBILITY, 0)?;
        write(GUEST_ACTIVITY_STATE, 0)?;
        write(GUEST_PENDING_DEBUG, 0)?;
        write(VMCS_LINK_POINTER, u64::MAX)?;
        write(EPT_POINTER, eptp)?;
        Ok(())
    }
}

/// The guest's segment registers, TR and descriptor tables: flat 64-bit segments from
/// `tessera_core::guest`, the same for every compartment.
fn write_guest_segments() -> Result<(), VmFail> {
    let flat = 0xFFFF_FFFF;
    for (sel, base, limit, rights, selector, access) in [
        (
            GUEST_CS_SELECTOR,
            GUEST_CS_BASE,
            GUEST_CS_LIMIT,
            GUEST_CS_ACCESS_RIGHTS,
            guest::CODE_SELECTOR,
            ar::CODE,
        ),
        (
            GUEST_SS_SELECTOR,
            GUEST_SS_BASE,
            GUEST_SS_LIMIT,
            GUEST_SS_ACCESS_RIGHTS,
            guest::DATA_SELECTOR,
            ar::DATA,
        ),
        (
            GUEST_DS_SELECTOR,
            GUEST_DS_BASE,
            GUEST_DS_LIMIT,
            GUEST_DS_ACCESS_RIGHTS,
            guest::DATA_SELECTOR,
            ar::DATA,
        ),
        (
            GUEST_ES_SELECTOR,
            GUEST_ES_BASE,
            GUEST_ES_LIMIT,
            GUEST_ES_ACCESS_RIGHTS,
            guest::DATA_SELECTOR,
            ar::DATA,
        ),
        (
            GUEST_FS_SELECTOR,
            GUEST_FS_BASE,
            GUEST_FS_LIMIT,
            GUEST_FS_ACCESS_RIGHTS,
            guest::DATA_SELECTOR,
            ar::DATA,
        ),
        (
            GUEST_GS_SELECTOR,
            GUEST_GS_BASE,
            GUEST_GS_LIMIT,
            GUEST_GS_ACCESS_RIGHTS,
            guest::DATA_SELECTOR,
            ar::DATA,
        ),
        (
            GUEST_LDTR_SELECTOR,
            GUEST_LDTR_BASE,
            GUEST_LDTR_LIMIT,
            GUEST_LDTR_ACCESS_RIGHTS,
            0,
            ar::UNUSABLE,
        ),
    ] {
        write(sel, selector.into())?;
        write(base, 0)?;
        write(limit, flat)?;
        write(rights, access.into())?;
    }
    write(GUEST_TR_SELECTOR, guest::TSS_SELECTOR.into())?;
    write(GUEST_TR_BASE, guest::GDT_GPA + guest::TSS_OFFSET)?;
    write(GUEST_TR_LIMIT, guest::TSS_LIMIT.into())?;
    write(GUEST_TR_ACCESS_RIGHTS, ar::TSS.into())?;
    write(GUEST_GDTR_BASE, guest::GDT_GPA)?;
    write(GUEST_GDTR_LIMIT, guest::GDT_LIMIT.into())?;
    write(GUEST_IDTR_BASE, 0)?;
    write(GUEST_IDTR_LIMIT, 0)?;
    Ok(())
}
