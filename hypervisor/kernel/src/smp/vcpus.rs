//! One vCPU per online CPU (docs/gates.md "SMP"): the boot CPU builds its own backend,
//! says how views switch, then hands every AP a job through its mailbox that builds that
//! AP's own backend (VMCS or VMCB, host state naming its own GDT and TSS, its own timer)
//! and runs the mains placed on its vCPU; the boot CPU runs vCPU 0's and, once every AP
//! has finished, decides the verdict. The world is shared behind its lock
//! (`tessera_engine::world::Shared`), which no CPU holds while its guest runs.

use super::{CpuIndex, apic_of, mailbox};
use crate::phys::PhysMemory;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::any::Any;
use tessera_core::watchdog::Budgets;
use tessera_engine::backend::Backend;
use tessera_engine::boot;
use tessera_engine::verdict::Verdict;
use tessera_engine::world::{Shared, World};

/// Builds vCPU `k`'s backend on CPU `k` (it runs there).
pub type Build<B> = dyn Fn(&mut World<<B as Backend>::Format, PhysMemory>, CpuIndex) -> Result<B, String>
    + Send
    + Sync;

/// What every vCPU of the boot shares. Leaked: it lives until the machine ends.
struct Smp<B: Backend> {
    world: Shared<B::Format, PhysMemory>,
    build: Box<Build<B>>,
    budgets: Budgets,
    failures: spin::Mutex<Vec<(usize, String)>>,
}

/// The boot's [`Smp`], for the APs' jobs (plain `fn`s, which find it here).
static SMP: spin::Once<&'static (dyn Any + Send + Sync)> = spin::Once::new();

/// Runs `world` on `cpus` vCPUs, vCPU k on CPU k, and returns the verdict.
pub fn run<B: Backend + 'static>(
    mut world: World<B::Format, PhysMemory>,
    cpus: usize,
    boot_budget: Option<u64>,
    build: Box<Build<B>>,
) -> Result<Verdict, String>
where
    B::Format: Copy + Send + Sync + 'static,
{
    let first = build(&mut world, CpuIndex::BOOT)?;
    let budgets = boot::announce(&mut world, first.hardware_switching(), boot_budget);
    let smp: &'static Smp<B> = Box::leak(Box::new(Smp {
        world: spin::Mutex::new(world),
        build,
        budgets: budgets.clone(),
        failures: spin::Mutex::new(Vec::new()),
    }));
    if SMP.get().is_some() {
        return Err("L1 bug: a second SMP run in one boot".into());
    }
    SMP.call_once(|| smp);
    let mut posted = Vec::new();
    for k in 1..cpus {
        let Some((index, apic)) = CpuIndex::new(k).and_then(|i| Some((i, apic_of(i)?))) else {
            continue;
        };
        match mailbox::post(index, apic, vcpu_job::<B>) {
            Ok(seq) => posted.push((index, seq)),
            Err(e) => smp
                .failures
                .lock()
                .push((k, alloc::format!("not started: {e:?}"))),
        }
    }
    if let Err(e) = boot::run_vcpu(&smp.world, first, budgets) {
        smp.failures.lock().push((0, e));
    }
    for (index, seq) in posted {
        mailbox::join(index, seq);
    }
    let mut failures = smp.failures.lock().clone();
    failures.sort_by_key(|(k, _)| *k);
    Ok(boot::finish(&mut smp.world.lock(), &failures))
}

/// An AP's job: build its backend and run its vCPU; 0 if it ended without an L1 failure
/// (a failure is recorded for the verdict).
fn vcpu_job<B: Backend + 'static>(cpu: CpuIndex) -> u64
where
    B::Format: Copy + Send + Sync + 'static,
{
    let Some(smp) = SMP.get().and_then(|s| s.downcast_ref::<Smp<B>>()) else {
        return 1;
    };
    // The NMIs that woke this AP are no kick.
    mailbox::take_kick(cpu);
    let built = {
        let mut world = smp.world.lock();
        (smp.build)(&mut world, cpu)
    };
    match built.and_then(|b| boot::run_vcpu(&smp.world, b, smp.budgets.clone())) {
        Ok(()) => 0,
        Err(e) => {
            smp.failures.lock().push((cpu.get(), e));
            1
        }
    }
}

/// The exit a backend returns instead of entering when a kick reached its CPU in L1
/// (`mailbox::take_kick`): an interrupt, which stops nobody (`@@STATS` counts it as
/// `exits.kick`).
pub fn kicked() -> tessera_engine::backend::Exit {
    tessera_engine::backend::Exit {
        exit: tessera_core::exit::VmExit::Interrupt,
        reason: "kick",
    }
}
