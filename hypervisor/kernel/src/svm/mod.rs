//! The SVM backend (AMD APM Vol. 2 ch. 15): EFER.SVME and VM_HSAVE_PA, one VMCB,
//! nested paging with the same generic page-table code as EPT in the NPT format, one
//! ASID per view where the CPU has enough, every sensitive instruction intercepted, and
//! VMFUNC/VMCALL recognised from their #UD by the shared run loop.

pub mod backend;
#[cfg(feature = "fixture")]
mod fixture;
pub mod run;
pub mod vmcb;

use crate::phys::PhysMemory;
use alloc::string::String;
use alloc::vec::Vec;
use backend::SvmCpu;
use tessera_core::caps::SvmCaps;
use tessera_core::efer::Efer;
use tessera_core::guest::{self, access_rights as ar};
use tessera_core::paging::{EptpRules, Npt, Perms};
use tessera_core::rflags::Rflags;
use tessera_core::svm::vmcb::{attrib_from_access_rights, control, state};
use tessera_engine::ids::ViewId;
use tessera_engine::port::{Frames, Memory, PAGE};
use tessera_engine::provision::Paging;
use vmcb::Vmcb;
use x86::controlregs::{Cr0, Cr4};
use x86::msr::IA32_EFER;

const VM_HSAVE_PA: u32 = 0xC001_0117;
/// The guest's EFER: long mode, and SVME (a guest EFER without SVME fails VMRUN's
/// checks, APM §15.5.1).
const GUEST_EFER: Efer = Efer::LONG_MODE.union(Efer::SVME);
/// PG, WP, NE, ET, EM, PE. EM = 1: x87/MMX/SSE fault, so no FPU state crosses a gate.
const GUEST_CR0: Cr0 = Cr0::CR0_ENABLE_PAGING
    .union(Cr0::CR0_WRITE_PROTECT)
    .union(Cr0::CR0_NUMERIC_ERROR)
    .union(Cr0::CR0_EXTENSION_TYPE)
    .union(Cr0::CR0_EMULATE_COPROCESSOR)
    .union(Cr0::CR0_PROTECTED_MODE);

/// How views are built with NPT. The VMFUNC model still checks EPTP-form pointers
/// (synthetic ones here: write-back, 4 levels, no A/D), so the same rules hold on AMD.
pub fn paging(maxphyaddr: u8) -> Paging<Npt> {
    Paging {
        format: Npt,
        rules: EptpRules {
            wb: true,
            uc: true,
            walk4: true,
            walk5: false,
            ad: false,
            maxphyaddr,
            supervisor_shadow_stack: false,
        },
        // NPT has no execute-only pages.
        gate_perms: Perms::RX,
        maxphyaddr,
        // QEMU TCG's nested walk wants write access to guest page tables (Bochs' and real
        // CPUs' do not when A/D are preset); a private copy per view keeps that safe.
        private_guest_tables: true,
    }
}

/// `count` fresh frames filled with `byte`, kept in `owned`; their address.
fn frames_filled(
    mem: &mut PhysMemory,
    owned: &mut Vec<Frames>,
    count: usize,
    byte: u8,
) -> Result<u64, String> {
    let frames = mem
        .alloc(count, PAGE)
        .ok_or("out of memory for SVM structures")?;
    mem.bytes_mut(&frames).fill(byte);
    let pa = frames.start();
    owned.push(frames);
    Ok(pa)
}

/// Sets EFER.SVME (and NXE where the CPU has NX) and this CPU's VM_HSAVE_PA (both per
/// CPU: APM Vol. 2 §15.4, §15.30.4).
///
/// # Safety
/// `hsave` is a zeroed 4 KiB frame owned by this CPU's SVM operation for the rest of the
/// run, and no other CPU uses it.
pub unsafe fn enable_on_this_cpu(hsave: u64) -> Result<(), String> {
    let nx = crate::cpu::cpuid(0x8000_0001, 0)[3] & (1 << 20) != 0;
    let efer = crate::cpu::rdmsr_safe(IA32_EFER).map_err(|_| "cannot read EFER")?;
    let mut efer = Efer::from_bits_retain(efer) | Efer::SVME;
    if nx {
        efer |= Efer::NXE;
    }
    // SAFETY: sets EFER.SVME (allows SVM instructions) and EFER.NXE (NX becomes a valid
    // page-table bit, which NPT entries use); LME/LMA and paging are unchanged.
    unsafe { crate::cpu::wrmsr(IA32_EFER, efer.bits()) };
    // SAFETY: VM_HSAVE_PA gets an L1-owned page the CPU may use for host state (the
    // caller's promise).
    unsafe { crate::cpu::wrmsr(VM_HSAVE_PA, hsave) };
    Ok(())
}

/// Enables SVM and builds the VMCB for views already built, whose nested tables
/// `pointers` (EPTP form, by view) root.
pub fn backend(
    caps: &SvmCaps,
    mem: &mut PhysMemory,
    pointers: Vec<u64>,
    cpu: crate::percpu::CpuIndex,
) -> Result<SvmCpu, String> {
    if caps.svm_disabled_by_vm_cr {
        return Err("SVM is disabled by the firmware (VM_CR.SVMDIS)".into());
    }
    if !caps.npt {
        return Err("this CPU has SVM but no nested paging".into());
    }
    let mut owned = Vec::new();
    let hsave = frames_filled(mem, &mut owned, 1, 0)?;
    // SAFETY: `hsave` is a zeroed page kept in `owned`, which the backend keeps for the
    // rest of the run.
    unsafe { enable_on_this_cpu(hsave) }?;
    crate::lapic::init();

    let mut vmcb = Vmcb::new(mem.owned_page().ok_or("out of memory for the VMCB")?);
    // Every I/O port and MSR intercepted (APM §15.10: IOPM 12 KiB, MSRPM 8 KiB).
    let iopm = frames_filled(mem, &mut owned, 3, 0xFF)?;
    let msrpm = frames_filled(mem, &mut owned, 2, 0xFF)?;
    // CR writes: CR0, CR3, CR4, CR8 (bits 16 + n).
    vmcb.set::<u32>(
        control::INTERCEPT_CR,
        (1 << 16) | (1 << 19) | (1 << 20) | (1 << 24),
    );
    vmcb.set::<u32>(control::INTERCEPT_DR, u32::MAX);
    vmcb.set::<u32>(control::INTERCEPT_EXCEPTIONS, u32::MAX);
    // Vector 3: INTR, NMI, SMI, INIT, descriptor-table reads and writes (6–13), RDPMC,
    // CPUID, INTn, INVD, HLT, INVLPG, INVLPGA, IOIO_PROT, MSR_PROT, task switch,
    // shutdown. INTn is intercepted because QEMU TCG delivers INT3 through the (empty)
    // IDT as a #GP instead of raising the #BP intercept; the run loop decodes an INTn
    // exit into the exception VMX reports (#BP for INT3, #GP for INT n).
    let misc1: u32 = 0b1111
        | (0xFF << 6)
        | (1 << 15)
        | (1 << 18)
        | (1 << 21)
        | (1 << 22)
        | (1 << 24)
        | (1 << 25)
        | (1 << 26)
        | (1 << 27)
        | (1 << 28)
        | (1 << 29)
        | (1 << 31);
    vmcb.set::<u32>(control::INTERCEPT_MISC1, misc1);
    // Vector 4: VMRUN (mandatory), VMMCALL, VMLOAD, VMSAVE, STGI, CLGI, SKINIT, ICEBP,
    // WBINVD, MONITOR, MWAIT, MWAIT-conditional, XSETBV. RDTSCP stays allowed.
    let misc2: u32 =
        0b111_1111 | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12) | (1 << 13);
    vmcb.set::<u32>(control::INTERCEPT_MISC2, misc2);
    vmcb.set::<u64>(control::IOPM_BASE_PA, iopm);
    vmcb.set::<u64>(control::MSRPM_BASE_PA, msrpm);
    vmcb.set::<u64>(control::NP_ENABLE, 1);
    // V_INTR_MASKING: the host's IF decides physical interrupts while the guest runs.
    vmcb.set::<u64>(control::V_INTR, 1 << 24);

    // One ASID per view (ASID 0 is the host's) where there are enough; else one shared
    // ASID and a TLB flush on every switch.
    let asid_per_view = (pointers.len() as u64) < u64::from(caps.asids);
    if cpu == crate::percpu::CpuIndex::BOOT {
        // Once per boot: every CPU has the same SVM (the APs' backends decide the same).
        report_asids(caps, asid_per_view);
    }
    Ok(SvmCpu {
        vmcb,
        pointers,
        asid_per_view,
        current: (ViewId(0), 0),
        flush: false,
        // Budgets are in TSC ticks, like VMX's preemption timer; the APIC timer runs at
        // its own rate, measured against the TSC once.
        rate: crate::lapic::Rate::measure(),
        watchdog: u32::MAX,
        index: cpu,
        kicked: crate::smp::kick_flag(cpu),
        _owned: owned,
    })
}

/// Says how views get their ASIDs (`@@SVM tlb=`).
fn report_asids(caps: &SvmCaps, asid_per_view: bool) {
    log::info!(
        "SVM: revision {}, {} ASIDs: {}",
        caps.revision,
        caps.asids,
        if asid_per_view {
            "one ASID per view (no flush on a switch)"
        } else {
            "too few for one per view: flush on every switch"
        }
    );
    crate::sprintln!(
        "@@SVM tlb={}",
        if asid_per_view {
            "asid-per-view"
        } else {
            "flush"
        }
    );
}

/// Guest state of a fresh compartment start (the same L2 environment as on VMX).
pub fn write_guest_state(vmcb: &mut Vmcb, rip: u64, rsp: u64) {
    let code = attrib_from_access_rights(ar::CODE);
    let data = attrib_from_access_rights(ar::DATA);
    let flat = 0xFFFF_FFFF;
    vmcb.set_segment(state::CS, guest::CODE_SELECTOR, code, flat, 0);
    for seg in [state::SS, state::DS, state::ES] {
        vmcb.set_segment(seg, guest::DATA_SELECTOR, data, flat, 0);
    }
    for seg in [state::FS, state::GS, state::LDTR] {
        vmcb.set_segment(seg, 0, 0, 0, 0);
    }
    vmcb.set_segment(
        state::TR,
        guest::TSS_SELECTOR,
        attrib_from_access_rights(ar::TSS),
        guest::TSS_LIMIT,
        guest::GDT_GPA + guest::TSS_OFFSET,
    );
    vmcb.set_segment(state::GDTR, 0, 0, guest::GDT_LIMIT, guest::GDT_GPA);
    vmcb.set_segment(state::IDTR, 0, 0, 0, 0);
    vmcb.set::<u8>(state::CPL, 0);
    vmcb.set::<u64>(state::EFER, GUEST_EFER.bits());
    vmcb.set::<u64>(state::CR0, GUEST_CR0.bits() as u64);
    vmcb.set::<u64>(state::CR3, guest::PAGE_TABLES_GPA);
    vmcb.set::<u64>(state::CR4, Cr4::CR4_ENABLE_PAE.bits() as u64);
    vmcb.set::<u64>(state::DR7, 0x400);
    vmcb.set::<u64>(state::DR6, 0xFFFF_0FF0);
    // IF=1: with V_INTR_MASKING the guest's IF only gates virtual interrupts (none are
    // ever injected), but Bochs masks physical interrupts by the guest's IF as well, so
    // with IF=0 the watchdog timer could never end a looping guest there.
    vmcb.set::<u64>(state::RFLAGS, Rflags::CLEAN.bits());
    vmcb.set::<u64>(state::RIP, rip);
    vmcb.set::<u64>(state::RSP, rsp);
    vmcb.set::<u64>(state::RAX, 0);
    vmcb.set::<u64>(state::G_PAT, 0x0007_0406_0007_0406);
    vmcb.set::<u64>(control::INTERRUPT_SHADOW, 0);
    vmcb.set::<u64>(control::EVENT_INJ, 0);
}
