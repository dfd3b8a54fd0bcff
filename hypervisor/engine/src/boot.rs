//! One boot's workload on one vCPU: announce how views switch and how the watchdog
//! bounds them, run every compartment's `main`, and decide the verdict.

use crate::backend::Backend;
use crate::port::Memory;
use crate::vcpu::{Vcpu, WorldOf};
use crate::verdict::{self, Verdict};
use tessera_core::manifest::Manifest;
use tessera_core::watchdog::{Budgets, Watchdog};

/// Each compartment's watchdog budgets: its manifest `watchdog=` first, then the
/// boot-wide budget (kernel argument `watchdog=TICKS`); without either, exports get the
/// default (2^26 ticks) and `main` is not bounded.
pub fn budgets(manifest: &Manifest, boot_budget: Option<u64>) -> Budgets {
    let decls = &manifest.compartments;
    Budgets {
        export: decls
            .iter()
            .map(|c| c.watchdog.or(boot_budget).unwrap_or(c.export_watchdog()))
            .collect(),
        main: decls
            .iter()
            .map(|c| c.main_watchdog().or(boot_budget))
            .collect(),
    }
}

/// Runs the world on `cpu` and returns the verdict (`@@STATS` printed). `boot_budget`:
/// the kernel argument `watchdog=`.
pub fn run<B: Backend, M: Memory>(
    world: &mut WorldOf<B, M>,
    cpu: B,
    boot_budget: Option<u64>,
) -> (Verdict, Vcpu<B>) {
    let hardware = cpu.hardware_switching();
    let mode = if hardware { "hardware" } else { "emulated" };
    world.line(format_args!("@@SWITCH mode={mode}"));
    let budgets = budgets(&world.manifest, boot_budget);
    // Every engine counts nothing until a period ends, then traps switching (hardware
    // VMFUNC turned off, or the emulated switch charging each activation): docs/gates.md
    // "Watchdog".
    world.line(format_args!(
        "@@WATCHDOG period={} mode=trap-on-expiry",
        budgets.period()
    ));
    let mut vcpu = Vcpu::new(cpu, Watchdog::new(budgets, false));
    let verdict = match vcpu.run_all(world) {
        Ok(()) => verdict::finish(world),
        Err(reason) => Verdict::Fail(reason),
    };
    (verdict, vcpu)
}
