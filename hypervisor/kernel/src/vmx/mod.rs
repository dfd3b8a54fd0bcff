//! The VMX backend. So far: entering VMX root operation (SDM 3C §24.7 "Enabling and
//! Entering VMX Operation", §24.8 "Restrictions on VMX Operation"). VMCS setup, the run
//! loop and exit handling build on this (issue: VMX backend).

pub mod backend;
#[cfg(feature = "fixture")]
mod fixture;
pub mod instr;
pub mod run;
pub mod vmcs;

use crate::cpu::{Cr, read_cr, write_cr, wrmsr};
use crate::phys::PhysMemory;
use core::fmt;
use tessera_core::caps::VmxCaps;
use tessera_core::caps::vmx::IA32_FEATURE_CONTROL;
use tessera_engine::port::{Frames, Memory};
use x86::controlregs::{Cr0, Cr4};

/// Why VMX operation could not be entered.
#[derive(Debug)]
pub enum EnableError {
    /// IA32_FEATURE_CONTROL is locked with VMX outside SMX disabled (firmware setting).
    LockedOff,
    /// CR0 would need a bit changed that L1 cannot change (e.g. PG or PE).
    Cr0(u64),
    /// No frame for the VMXON region.
    NoMemory,
    /// VMXON itself failed.
    Vmxon(instr::VmFail),
}

impl fmt::Display for EnableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnableError::LockedOff => f.write_str("IA32_FEATURE_CONTROL-locked-with-VMX-disabled"),
            EnableError::Cr0(v) => write!(f, "CR0-fixed-bits-need={v:#x}"),
            EnableError::NoMemory => f.write_str("no-frame-for-VMXON-region"),
            EnableError::Vmxon(e) => write!(f, "VMXON-failed:{e}"),
        }
    }
}

/// VMX root operation, entered.
#[derive(Debug)]
pub struct VmxRoot {
    /// The VMXON region (owned for as long as VMX operation lasts).
    pub vmxon_region: Frames,
}

/// Enters VMX root operation: locks IA32_FEATURE_CONTROL if the firmware left it open,
/// sets CR4.VMXE and the CR0/CR4 fixed bits, and executes VMXON on a fresh region.
pub fn enable(caps: &VmxCaps, mem: &mut PhysMemory) -> Result<VmxRoot, EnableError> {
    let region = mem.frame().ok_or(EnableError::NoMemory)?;
    // The revision identifier in the first 4 bytes (SDM 3C §24.11.5), the rest zero.
    mem.write_u64(region.start(), caps.basic.revision_id.into());
    // SAFETY: the region is owned for the rest of the run (never freed) and holds the
    // revision identifier.
    unsafe { enter(caps, caps.feature_control, region.start()) }?;
    Ok(VmxRoot {
        vmxon_region: region,
    })
}

/// [`enable`] on an application processor, with the VMXON region the boot CPU made for
/// it: this CPU's own IA32_FEATURE_CONTROL is read (the MSR is per logical CPU).
///
/// # Safety
/// `region` is a 4 KiB frame owned by this CPU's VMX operation for the rest of the run,
/// holding the revision identifier, and no other CPU uses it.
pub unsafe fn enable_on_this_cpu(caps: &VmxCaps, region: u64) -> Result<(), EnableError> {
    let fc = crate::cpu::rdmsr_safe(IA32_FEATURE_CONTROL)
        .ok()
        .map(tessera_core::caps::vmx::FeatureControl::decode);
    // SAFETY: the caller's promise.
    unsafe { enter(caps, fc, region) }
}

/// Feature control, CR0/CR4 fixed bits, VMXON on `region`.
///
/// # Safety
/// As [`enable_on_this_cpu`].
unsafe fn enter(
    caps: &VmxCaps,
    fc: Option<tessera_core::caps::vmx::FeatureControl>,
    region: u64,
) -> Result<(), EnableError> {
    if let Some(fc) = fc {
        if fc.vmx_locked_off() {
            return Err(EnableError::LockedOff);
        }
        if !fc.locked {
            // SAFETY: IA32_FEATURE_CONTROL exists (it was read); setting lock + VMX
            // outside SMX only permits VMXON and changes nothing Rust code relies on.
            unsafe { wrmsr(IA32_FEATURE_CONTROL, fc.raw | 0b101) };
        }
    }
    let cr0 = read_cr(Cr::Cr0);
    let cr0_fixed = caps.cr0.apply(cr0);
    if cr0_fixed != cr0 {
        // Only CR0.NE may need setting (PE/PG are on in long mode); anything else is a refusal.
        let ne = Cr0::CR0_NUMERIC_ERROR.bits() as u64;
        if cr0_fixed & !cr0 & !ne != 0 || cr0 & !cr0_fixed != 0 {
            return Err(EnableError::Cr0(cr0_fixed));
        }
        // SAFETY: sets CR0.NE only (native x87 error reporting), which L1 does not use.
        unsafe { write_cr(Cr::Cr0, cr0_fixed) };
    }
    let cr4 = caps
        .cr4
        .apply(read_cr(Cr::Cr4) | Cr4::CR4_ENABLE_VMX.bits() as u64);
    // SAFETY: sets VMXE (and bits the VMX fixed-1 MSR requires, which are already set in
    // long mode); paging and the address space are unchanged.
    unsafe { write_cr(Cr::Cr4, cr4) };
    // SAFETY: the region is owned for the rest of the run and holds the revision
    // identifier (the caller's promise); CR0/CR4 satisfy the fixed bits and feature
    // control allows VMXON.
    unsafe { instr::vmxon(region) }.map_err(EnableError::Vmxon)
}

/// Builds the VMX backend for views already built: controls from core (VM functions
/// when the CPU has them and the boot did not force emulation), a VMCS, and the EPTP
/// list wired in for hardware switching.
/// `list` is the EPTP list, `pointers` each view's own EPT pointer.
pub fn backend(
    caps: &VmxCaps,
    mem: &mut PhysMemory,
    (list, pointers): (&[u64; 512], alloc::vec::Vec<u64>),
    (force_emulation, cpu): (bool, crate::percpu::CpuIndex),
) -> Result<backend::VmxCpu, alloc::string::String> {
    use tessera_core::vmx::controls::{self, Request};
    use tessera_core::vmx::fields;
    let hardware = caps.vmfunc_eptp_switching && !force_emulation;
    let ctl = controls::compute(
        caps,
        Request {
            vm_functions: hardware,
        },
    )
    .map_err(|e| alloc::format!("{e}"))?;
    let log_level = if cpu == crate::percpu::CpuIndex::BOOT {
        log::Level::Info
    } else {
        // Every AP computes the same controls from the same capabilities.
        log::Level::Debug
    };
    log::log!(
        log_level,
        "VMX controls: pin {:#x} proc {:#x} proc2 {:#x} exit {:#x} entry {:#x} (vpid {}, preemption timer {}, VM functions {})",
        ctl.pin.bits(),
        ctl.primary.bits(),
        ctl.secondary.bits(),
        ctl.exit.bits(),
        ctl.entry.bits(),
        ctl.vpid,
        ctl.preemption_timer,
        ctl.vm_functions
    );
    log::log!(
        log_level,
        "view switching: {}",
        if ctl.vm_functions {
            "hardware (VMFUNC leaf 0 with the EPTP list, no VM exit)"
        } else if caps.vmfunc_eptp_switching {
            "emulated (forced with switch=emulate: VMFUNC raises #UD and L1 applies its semantics)"
        } else {
            "emulated (this CPU has no VMFUNC: it raises #UD and L1 applies its semantics)"
        }
    );
    if !ctl.preemption_timer {
        // Without it no budget could be enforced on this CPU (DESIGN §6 property 10).
        return Err("no-watchdog: this CPU has no VMX-preemption timer".into());
    }
    let region = mem.frame().ok_or("no-memory-for-vmcs")?;
    mem.write_u64(region.start(), caps.basic.revision_id.into());
    let vmcs = vmcs::Vmcs::new(region.start(), &ctl, cpu)
        .map_err(|e| alloc::format!("vmcs-setup-failed error={e}"))?;
    log::debug!("VMCS at {:#x}", vmcs.region);
    let list_page = mem.owned_page().ok_or("no-memory-for-eptp-list")?;
    if ctl.vm_functions {
        // SAFETY: the EPTP list is an L1 page (zeroed now, `write_list` fills it below)
        // holding only EPTPs of tables L1 built — the views', and with the conformance
        // fixture aliases of its view — or entries VMFUNC rejects with exit 59 (0, and the
        // fixture's deliberately invalid forms).
        unsafe { instr::vmwrite(fields::EPTP_LIST_ADDRESS, list_page.start()) }
            .map_err(|e| alloc::format!("vmwrite-failed field=eptp-list error={e}"))?;
        // SAFETY: enables only EPTP switching (VM function 0).
        unsafe { instr::vmwrite(fields::VM_FUNCTION_CONTROLS, 1) }
            .map_err(|e| alloc::format!("vmwrite-failed field=vm-function-controls error={e}"))?;
    }
    let mut cpu = backend::VmxCpu {
        vmcs,
        caps: *caps,
        vm_functions: ctl.vm_functions.then_some(ctl.secondary),
        hardware: ctl.vm_functions,
        timer: u32::MAX.into(),
        failed: core::cell::Cell::new(None),
        pointers,
        loaded_tables: tessera_engine::backend::Loaded::View(tessera_engine::ids::ViewId(0)),
        list: list_page,
        index: cpu,
        kicked: crate::smp::kick_flag(cpu),
        _owned: alloc::vec![region],
    };
    cpu.write_list(list);
    Ok(cpu)
}

/// How views are built on this CPU with EPT.
pub fn paging(
    caps: &VmxCaps,
    maxphyaddr: u8,
    cet_ss: bool,
) -> Result<tessera_engine::provision::Paging<tessera_core::paging::Ept>, &'static str> {
    use tessera_core::paging::{Ept, Perms};
    let ept = caps.ept_caps().copied().ok_or("this CPU has no EPT")?;
    Ok(tessera_engine::provision::Paging {
        format: Ept::new(ept.execute_only),
        rules: tessera_engine::provision::eptp_rules(&ept, maxphyaddr, cet_ss),
        // Execute-only where the CPU allows (DESIGN §6 property 1), else read-execute.
        gate_perms: if ept.execute_only {
            Perms::X
        } else {
            Perms::RX
        },
        maxphyaddr,
        private_guest_tables: false,
    })
}
