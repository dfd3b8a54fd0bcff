//! The boot's workload: every module is a compartment, loaded, run to its end, and
//! checked against what its module line expects.

use crate::compartment::{self, SharedPages};
use crate::stats::Stats;
use crate::vmx::exec::{self, RunEnd};
use crate::vmx::vmcs::Vmcs;
use alloc::string::String;
use alloc::vec::Vec;
use tessera_core::caps::Capabilities;
use tessera_core::frames::FrameAllocator;
use tessera_core::multiboot::BootInfo;
use tessera_core::outcome::{Outcome, encode_value};
use tessera_core::vmx::controls::{self, Request};

/// Default watchdog budget in TSC ticks (Bochs: instructions) without a VM exit.
const WATCHDOG_TICKS: u64 = 1 << 26;

/// Runs every module; `Err` is why the boot fails.
pub fn run_modules(
    boot: &BootInfo,
    caps: &Capabilities,
    frames: &mut FrameAllocator,
) -> Result<(), String> {
    if boot.modules.is_empty() {
        return Ok(());
    }
    let Some(vmx) = &caps.vmx else {
        return Err(
            "no-backend: this CPU has no VMX and the SVM backend does not exist yet".into(),
        );
    };
    let ept_caps = vmx.ept_caps().copied().ok_or("no-ept")?;
    let ctl = controls::compute(vmx, Request::default()).map_err(|e| alloc::format!("{e}"))?;
    log::info!(
        "VMX controls: pin {:#x} proc {:#x} proc2 {:#x} exit {:#x} entry {:#x} (vpid {}, preemption timer {})",
        ctl.pin,
        ctl.primary,
        ctl.secondary,
        ctl.exit,
        ctl.entry,
        ctl.vpid,
        ctl.preemption_timer
    );
    let watchdog_ticks = boot
        .args()
        .into_iter()
        .find(|(k, _)| k == "watchdog")
        .and_then(|(_, v)| v?.parse::<u64>().ok())
        .unwrap_or(WATCHDOG_TICKS);
    let watchdog = ctl
        .preemption_timer
        .then(|| (watchdog_ticks >> vmx.preemption_timer_rate).max(1));
    let region = crate::mem::zeroed_frame(frames).ok_or("no-memory-for-vmcs")?;
    let mut vmcs = Vmcs::new(region, vmx, &ctl).map_err(|e| alloc::format!("vmcs-setup {e:?}"))?;
    log::debug!("VMCS at {:#x}", vmcs.region);
    let shared = SharedPages::build(frames).ok_or("no-memory-for-guest-tables")?;

    let mut mismatches: Vec<String> = Vec::new();
    for (index, module) in boot.modules.iter().enumerate() {
        let (name, expect) = compartment::describe(module, index);
        let expect = expect.map_err(|e| alloc::format!("module-{name}: {e}"))?;
        let bytes =
            crate::mem::module_bytes(module.start, module.end).ok_or("module-outside-memory")?;
        let mut stats = Stats::default();
        let outcome = match compartment::load(
            &name,
            index,
            bytes,
            &shared,
            &ept_caps,
            caps.maxphyaddr,
            frames,
        ) {
            Err(problem) => {
                log::error!("rejected: {problem}");
                crate::sprintln!("@@REJECT module={name} problem={}", encode_value(&problem));
                Outcome::Rejected
            }
            Ok(c) => {
                log::info!(
                    "compartment '{name}' at {:#x}, entry {:#x}",
                    c.region.base,
                    c.entry
                );
                match exec::run(&mut vmcs, vmx, &c, watchdog, &mut stats) {
                    RunEnd::Ended(outcome) => outcome,
                    RunEnd::Bug(reason) => return Err(alloc::format!("{name}: {reason}")),
                }
            }
        };
        crate::sprintln!("{}", stats.line(&name));
        if !expect.matches(&outcome) {
            mismatches.push(alloc::format!("{name}:expected-{expect:?}-got-{outcome}"));
        }
    }
    if mismatches.is_empty() {
        Ok(())
    } else {
        Err(mismatches.join(","))
    }
}
