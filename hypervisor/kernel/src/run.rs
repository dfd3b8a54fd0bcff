//! The boot's workload: build the views from the modules (and manifest), pick the
//! backend, run every compartment's `main`, print `@@STATS`, and check each compartment
//! ended as its module line expected.

use crate::backend::Backend;
use crate::system::System;
use alloc::string::String;
use alloc::vec::Vec;
use tessera_core::caps::Capabilities;
use tessera_core::frames::FrameAllocator;
use tessera_core::multiboot::BootInfo;
use tessera_core::paging::EntryFormat;
use tessera_core::watchdog::{Budgets, Watchdog};

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
    vmx_root: Option<Result<(), String>>,
    frames: &mut FrameAllocator,
) -> Result<(), String> {
    if boot.modules.is_empty() {
        return Ok(());
    }
    let conformance = arg(boot, "conformance").as_deref() == Some("1");
    let force_emulation = arg(boot, "switch").as_deref() == Some("emulate");
    // A boot-wide budget (kernel argument `watchdog=TICKS`) for every compartment whose
    // manifest entry has no `watchdog=`; it also bounds their `main`s.
    let boot_budget = arg(boot, "watchdog").and_then(|v| v.parse::<u64>().ok());
    if let Some(vmx) = &caps.vmx {
        if let Some(Err(e)) = vmx_root {
            return Err(alloc::format!("vmxon-failed {e}"));
        }
        let paging = crate::vmx::paging(vmx, caps.maxphyaddr, caps.cet_ss)?;
        let fixture = crate::conformance::Cpu {
            maxphyaddr: caps.maxphyaddr,
            ept: true,
            ve: vmx.ve,
        };
        let mut sys = views(boot, &paging, frames, conformance.then_some(fixture))?;
        let mut cpu = crate::vmx::backend(vmx, sys.eptp_list, force_emulation, frames)?;
        return run(&mut cpu, &mut sys, boot_budget);
    }
    if let Some(svm) = &caps.svm {
        let paging = crate::svm::paging(caps.maxphyaddr);
        let fixture = crate::conformance::Cpu {
            maxphyaddr: caps.maxphyaddr,
            ept: false,
            ve: false,
        };
        let mut sys = views(boot, &paging, frames, conformance.then_some(fixture))?;
        let mut cpu = crate::svm::backend(svm, &sys, frames)?;
        return run(&mut cpu, &mut sys, boot_budget);
    }
    Err("no-backend: this CPU has neither VMX with EPT nor SVM with NPT".into())
}

/// Builds every view (and the conformance fixture, when asked for).
fn views<F: EntryFormat + Copy>(
    boot: &BootInfo,
    paging: &crate::system::Paging<F>,
    frames: &mut FrameAllocator,
    conformance: Option<crate::conformance::Cpu>,
) -> Result<System<F>, String> {
    let mut sys = System::build(boot, paging, frames, conformance.is_some())?;
    if let Some(cpu) = conformance {
        let fixture = crate::conformance::install(&mut sys, boot, frames, cpu)?;
        sys.conformance = Some(fixture);
    }
    Ok(sys)
}

fn run<B: Backend>(
    cpu: &mut B,
    sys: &mut System<B::Format>,
    boot_budget: Option<u64>,
) -> Result<(), String> {
    let hardware = cpu.hardware_switching();
    let mode = if hardware { "hardware" } else { "emulated" };
    crate::sprintln!("@@SWITCH mode={mode}");
    // Each compartment's manifest `watchdog=` first, then the boot-wide budget; without
    // either, exports get the default (2^26) and `main` is not bounded.
    let decls = &sys.manifest.compartments;
    let budgets = Budgets {
        export: decls
            .iter()
            .map(|c| c.watchdog.or(boot_budget).unwrap_or(c.export_watchdog()))
            .collect(),
        main: decls
            .iter()
            .map(|c| c.main_watchdog().or(boot_budget))
            .collect(),
    };
    crate::sprintln!(
        "@@WATCHDOG period={} mode={}",
        budgets.period(),
        if hardware {
            "trap-on-expiry"
        } else {
            "trapped"
        }
    );
    let mut dog = Watchdog::new(budgets, !hardware);
    crate::exec::run_all(cpu, sys, &mut dog)?;
    finish(sys)
}

/// `@@STATS` for every compartment, then whether each ended as expected.
fn finish<F: EntryFormat>(sys: &System<F>) -> Result<(), String> {
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
