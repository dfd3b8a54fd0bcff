//! Each AP enters the boot CPU's virtualisation mode on structures of its own: VMX root
//! operation with its own VMXON region, or EFER.SVME with its own host save area. The
//! boot CPU allocates them (it owns the frame allocator) and hands each AP its frame's
//! address in a per-CPU slot; the AP reads its own IA32_FEATURE_CONTROL (per logical
//! CPU). Nothing runs guests on an AP yet.
//!
//! Once an AP is in VMX root operation INIT is blocked (SDM 3C §24.8 "Restrictions on
//! VMX Operation"), so it cannot be restarted with INIT-SIPI-SIPI: the run loop will wake
//! a parked AP with a flag and an IPI instead.

use crate::percpu::{CpuIndex, MAX_CPUS, PerCpu};
use crate::phys::PhysMemory;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use spin::Once;
use tessera_core::caps::{Capabilities, VmxCaps};
use tessera_engine::port::{Frames, Memory};

/// What every AP enters, as the boot CPU decided.
#[derive(Debug, Clone, Copy)]
enum Mode {
    Vmx(VmxCaps),
    Svm,
}

static MODE: Once<Option<Mode>> = Once::new();
/// Each AP's VMXON region or host save area (0: none).
static REGION: PerCpu<AtomicU64> = PerCpu::new([const { AtomicU64::new(0) }; MAX_CPUS]);

/// Decides the mode from the boot CPU's capabilities (once).
pub fn choose(caps: &Capabilities) {
    MODE.call_once(|| match (&caps.vmx, &caps.svm) {
        (Some(vmx), _) => Some(Mode::Vmx(*vmx)),
        (None, Some(svm)) if !svm.svm_disabled_by_vm_cr => Some(Mode::Svm),
        _ => None,
    });
}

/// Allocates AP `cpu`'s frame before it starts; kept in `owned` for the whole run.
pub fn prepare(cpu: CpuIndex, mem: &mut PhysMemory, owned: &mut Vec<Frames>) {
    let Some(Some(mode)) = MODE.get() else { return };
    let Some(frame) = mem.frame() else {
        return; // the AP reports it has none
    };
    mem.bytes_mut(&frame).fill(0);
    if let Mode::Vmx(caps) = mode {
        // The revision identifier in the first 4 bytes (SDM 3C §24.11.5).
        mem.write_u64(frame.start(), caps.basic.revision_id.into());
    }
    REGION.of(cpu).store(frame.start(), Ordering::Release);
    owned.push(frame);
}

/// Enters the mode on this AP; the `@@CPU` keys that say how it went.
pub fn enter(cpu: CpuIndex) -> String {
    let Some(Some(mode)) = MODE.get() else {
        return String::new();
    };
    let region = REGION.of(cpu).load(Ordering::Acquire);
    match mode {
        Mode::Vmx(_) if region == 0 => " vmxon=0 error=no-memory".into(),
        // SAFETY: `region` is the frame `prepare` made for this CPU alone, holding the
        // revision identifier, owned by the boot CPU's `owned` list for the whole run.
        Mode::Vmx(caps) => match unsafe { crate::vmx::enable_on_this_cpu(caps, region) } {
            Ok(()) => " vmxon=1".into(),
            Err(e) => alloc::format!(" vmxon=0 error={e}"),
        },
        Mode::Svm if region == 0 => " svme=0 error=no-memory".into(),
        // SAFETY: `region` is the zeroed frame `prepare` made for this CPU alone, owned
        // for the whole run.
        Mode::Svm => match unsafe { crate::svm::enable_on_this_cpu(region) } {
            Ok(()) => " svme=1".into(),
            Err(e) => alloc::format!(" svme=0 error={}", e.replace(' ', "-")),
        },
    }
}
