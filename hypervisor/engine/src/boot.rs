//! One boot's workload: announce how views switch and how the watchdog bounds them, run
//! every compartment's `main` on the vCPU it is placed on, and decide the verdict. One
//! vCPU runs on the world itself ([`run`]); on SMP each vCPU runs [`run_vcpu`] on the
//! shared world and the boot CPU decides once all are done ([`finish`]).

use crate::backend::Backend;
use crate::port::Memory;
use crate::vcpu::{Vcpu, WorldOf};
use crate::verdict::{self, Verdict};
use crate::world::{Shared, World};
use alloc::string::String;
use tessera_core::manifest::Manifest;
use tessera_core::paging::EntryFormat;
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

/// Runs the world on `cpu` (the one vCPU) and returns the verdict (`@@STATS` printed).
/// `boot_budget`: the kernel argument `watchdog=`.
pub fn run<B: Backend, M: Memory>(
    world: &mut WorldOf<B, M>,
    cpu: B,
    boot_budget: Option<u64>,
) -> (Verdict, Vcpu<B>)
where
    B::Format: Copy,
{
    let budgets = announce(world, cpu.hardware_switching(), boot_budget);
    let mut vcpu = Vcpu::new(cpu, Watchdog::new(budgets, false));
    let verdict = match vcpu.run_all(world) {
        Ok(()) => verdict::finish(world),
        Err(reason) => Verdict::Fail(reason),
    };
    (verdict, vcpu)
}

/// Says how views switch and how the watchdog bounds them (`@@SWITCH`, `@@WATCHDOG`),
/// once per boot, and returns the budgets every vCPU's watchdog gets.
pub fn announce<F: EntryFormat, M: Memory>(
    world: &mut World<F, M>,
    hardware: bool,
    boot_budget: Option<u64>,
) -> Budgets {
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
    budgets
}

/// Runs, on `cpu`, the mains placed on its vCPU (`Backend::vcpu`) in a world every vCPU
/// shares, each vCPU with its own watchdog. `Err` is an L1 failure on this vCPU.
pub fn run_vcpu<B: Backend, M: Memory>(
    world: &Shared<B::Format, M>,
    cpu: B,
    budgets: Budgets,
) -> Result<(), String>
where
    B::Format: Copy,
{
    let mut vcpu = Vcpu::new(cpu, Watchdog::new(budgets, false));
    let mut held = world;
    vcpu.run_all(&mut held)
}

/// The verdict of an SMP boot once every vCPU has finished (`@@STATS` printed): the
/// first vCPU's L1 failure, if any, else what the outcomes decide.
pub fn finish<F: EntryFormat, M: Memory>(
    world: &mut World<F, M>,
    failures: &[(usize, String)],
) -> Verdict {
    match failures.first() {
        Some((cpu, reason)) => Verdict::Fail(alloc::format!("vCPU {cpu}: {reason}")),
        None => verdict::finish(world),
    }
}
