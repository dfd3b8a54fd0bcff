//! The boot's workload: build the views from the modules (and manifest), run every
//! compartment's `main`, print `@@STATS`, and check each compartment ended as expected.

use crate::system::System;
use crate::vmx::exec;
use crate::vmx::vmcs::Vmcs;
use alloc::string::String;
use alloc::vec::Vec;
use tessera_core::caps::Capabilities;
use tessera_core::frames::FrameAllocator;
use tessera_core::multiboot::BootInfo;
use tessera_core::vmx::controls::{self, Request};
use tessera_core::vmx::fields;

/// Default watchdog budget in TSC ticks (Bochs: instructions) without a VM exit.
const WATCHDOG_TICKS: u64 = 1 << 26;

fn arg(boot: &BootInfo, key: &str) -> Option<String> {
    boot.args()
        .into_iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v)
}

/// Runs every module; `Err` is why the boot fails.
pub fn run_modules(
    boot: &BootInfo,
    caps: &Capabilities,
    frames: &mut FrameAllocator,
) -> Result<(), String> {
    if boot.modules.is_empty() {
        return Ok(());
    }
    let conformance = arg(boot, "conformance").as_deref() == Some("1");
    let Some(vmx) = &caps.vmx else {
        return Err(
            "no-backend: this CPU has no VMX and the SVM backend does not exist yet".into(),
        );
    };
    let mut sys = System::build(boot, caps, frames, conformance)?;
    if conformance {
        sys.conformance = Some(crate::conformance::install(
            &mut sys,
            frames,
            caps.maxphyaddr,
        )?);
    }
    let hardware = vmx.vmfunc_eptp_switching && arg(boot, "switch").as_deref() != Some("emulate");
    let ctl = controls::compute(
        vmx,
        Request {
            vm_functions: hardware,
        },
    )
    .map_err(|e| alloc::format!("{e}"))?;
    log::info!(
        "VMX controls: pin {:#x} proc {:#x} proc2 {:#x} exit {:#x} entry {:#x} (vpid {}, preemption timer {}, VM functions {})",
        ctl.pin,
        ctl.primary,
        ctl.secondary,
        ctl.exit,
        ctl.entry,
        ctl.vpid,
        ctl.preemption_timer,
        ctl.vm_functions
    );
    let mode = if ctl.vm_functions {
        "hardware"
    } else {
        "emulated"
    };
    log::info!(
        "view switching: {mode} ({})",
        if ctl.vm_functions {
            "VMFUNC leaf 0 with the EPTP list, no VM exit"
        } else if vmx.vmfunc_eptp_switching {
            "forced with switch=emulate: VMFUNC raises #UD and L1 applies its semantics"
        } else {
            "this CPU has no VMFUNC: it raises #UD and L1 applies its semantics"
        }
    );
    crate::sprintln!("@@SWITCH mode={mode}");
    let watchdog_ticks = arg(boot, "watchdog")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(WATCHDOG_TICKS);
    let watchdog = ctl
        .preemption_timer
        .then(|| (watchdog_ticks >> vmx.preemption_timer_rate).max(1));
    let region = crate::mem::zeroed_frame(frames).ok_or("no-memory-for-vmcs")?;
    let mut vmcs = Vmcs::new(region, vmx, &ctl).map_err(|e| alloc::format!("vmcs-setup {e:?}"))?;
    log::debug!("VMCS at {:#x}", vmcs.region);
    if ctl.vm_functions {
        // SAFETY: the EPTP list is an L1 page holding only EPTPs of views L1 built
        // (unused entries are 0, which VMFUNC rejects with exit 59).
        unsafe {
            crate::vmx::instr::vmwrite(fields::EPTP_LIST_ADDRESS, sys.eptp_list)
                .map_err(|e| alloc::format!("eptp-list {e:?}"))?;
        }
        // SAFETY: enables only EPTP switching (VM function 0).
        unsafe { crate::vmx::instr::vmwrite(fields::VM_FUNCTION_CONTROLS, 1) }
            .map_err(|e| alloc::format!("vmfunc-controls {e:?}"))?;
    }
    exec::run_all(&mut vmcs, vmx, &mut sys, watchdog, !ctl.vm_functions)?;

    let mut mismatches: Vec<String> = Vec::new();
    for (i, view) in sys.views.iter().enumerate() {
        let (calls_in, calls_out) = sys.call_counts(i);
        crate::sprintln!("{}", view.stats.line(&view.name, calls_in, calls_out));
        match &view.outcome {
            Some(outcome) if view.expect.matches(outcome) => {}
            Some(outcome) => mismatches.push(alloc::format!(
                "{}:expected-{:?}-got-{outcome}",
                view.name,
                view.expect
            )),
            None => mismatches.push(alloc::format!("{}:never-ended", view.name)),
        }
    }
    if mismatches.is_empty() {
        Ok(())
    } else {
        Err(mismatches.join(","))
    }
}
