//! The boot's workload: the modules become the engine's world (`tessera_engine::provision`)
//! on this CPU's backend, picked by vendor in one match, and the engine runs it and
//! decides the verdict (`tessera_engine::boot`). With `conformance=1` a kernel built with
//! the fixture wraps the backend in it (`crate::fixture`); any other kernel refuses.

use crate::loader::Hermit;
use crate::percpu::CpuIndex;
use crate::phys::PhysMemory;
use crate::serial::Com1;
use crate::smp::Build;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use tessera_core::caps::Capabilities;
use tessera_core::multiboot::BootInfo;
use tessera_core::paging::{EntryFormat, Ept, Npt};
use tessera_engine::backend::Backend;
use tessera_engine::provision::{self, Input, Module, Paging};
use tessera_engine::verdict::Verdict;
use tessera_engine::world::{GateCode, World};

/// The kernel arguments a boot's workload reads.
#[derive(Debug, Clone, Copy)]
struct Args {
    /// `switch=emulate`: VMX CPUs with VMFUNC emulate it anyway.
    force_emulation: bool,
    /// `watchdog=TICKS`: the boot-wide budget.
    boot_budget: Option<u64>,
    /// `conformance=1`: run the VMFUNC conformance fixture.
    fixture: bool,
    /// vCPUs: the CPUs online after bring-up (`cpus=` limits them; 1 when no AP was
    /// started), vCPU k on CPU k.
    cpus: usize,
}

fn arg(boot: &BootInfo, key: &str) -> Option<String> {
    boot.args()
        .into_iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v)
}

/// The boot's modules, read in place.
fn modules(boot: &BootInfo) -> Result<Vec<Module<'static>>, String> {
    let mut modules = Vec::new();
    for (index, m) in boot.modules.iter().enumerate() {
        let bytes = crate::mem::module_bytes(m.start, m.end)
            .ok_or_else(|| alloc::format!("module {index} ({}) outside memory", m.cmdline))?;
        modules.push(Module::from_cmdline(&m.cmdline, index, bytes));
    }
    Ok(modules)
}

/// The gate code every view maps (`crate::gate`).
fn gate() -> GateCode<'static> {
    GateCode {
        bytes: crate::gate::code(),
        land: crate::gate::land_offset(),
        resume: crate::gate::resume_offset(),
    }
}

/// Runs every module, each `main` on the vCPU its manifest places it on (`cpus` of
/// them); the verdict is the boot's.
pub fn run_modules(
    boot: &BootInfo,
    caps: &Capabilities,
    (vmx_root, cpus): (Option<Result<(), String>>, usize),
    mem: PhysMemory,
) -> Verdict {
    if boot.modules.is_empty() {
        return Verdict::Pass;
    }
    let args = Args {
        force_emulation: arg(boot, "switch").as_deref() == Some("emulate"),
        boot_budget: arg(boot, "watchdog").and_then(|v| v.parse::<u64>().ok()),
        fixture: arg(boot, "conformance").as_deref() == Some("1"),
        cpus: cpus.max(1),
    };
    if args.fixture && !cfg!(feature = "fixture") {
        // The test fixture is no part of a production hypervisor (docs/architecture.md).
        return Verdict::Fail(
            "conformance=1: this kernel was built without the fixture (cargo feature fixture)"
                .into(),
        );
    }
    match run(boot, caps, vmx_root, mem, args) {
        Ok(verdict) => verdict,
        Err(reason) => Verdict::Fail(reason),
    }
}

/// The one place the vendor decides: VMX with EPT, or SVM with NPT.
fn run(
    boot: &BootInfo,
    caps: &Capabilities,
    vmx_root: Option<Result<(), String>>,
    mem: PhysMemory,
    args: Args,
) -> Result<Verdict, String> {
    let modules = modules(boot)?;
    match (&caps.vmx, &caps.svm, vmx_root) {
        (Some(_), _, Some(Err(e))) => Err(alloc::format!("vmxon-failed {e}")),
        (Some(vmx), _, _) => {
            let paging = crate::vmx::paging(vmx, caps.maxphyaddr, caps.cet_ss)?;
            let vmx = *vmx;
            let backend = move |world: &mut World<Ept, PhysMemory>, cpu: CpuIndex| {
                let k = cpu.get();
                let views = (&*world.lists[k], world.pointers(k));
                let how = (args.force_emulation, cpu);
                crate::vmx::backend(&vmx, &mut world.mem, views, how)
            };
            run_on(&modules, paging, mem, (caps, args), Box::new(backend))
        }
        (None, Some(svm), _) => {
            let paging = crate::svm::paging(caps.maxphyaddr);
            let svm = *svm;
            let backend = move |world: &mut World<Npt, PhysMemory>, cpu: CpuIndex| {
                let pointers = world.pointers(cpu.get());
                crate::svm::backend(&svm, &mut world.mem, pointers, cpu)
            };
            run_on(&modules, paging, mem, (caps, args), Box::new(backend))
        }
        (None, None, _) => {
            Err("no-backend: this CPU has neither VMX with EPT nor SVM with NPT".into())
        }
    }
}

/// Provisions the world from the modules (for the fixture's compartments, when it runs).
pub fn build<F: EntryFormat + Copy>(
    modules: &[Module<'_>],
    paging: Paging<F>,
    mem: PhysMemory,
    (fixture, cpus): (Option<&[&str]>, usize),
) -> Result<World<F, PhysMemory>, String> {
    let input = Input {
        modules,
        paging,
        gate: gate(),
        fixture,
        cpus,
    };
    provision::provision(mem, Box::new(Com1), &input, &mut Hermit)
}

/// Provisions the world on `paging` and runs it on the backend `backend` builds for it.
#[cfg(not(feature = "fixture"))]
fn run_on<B: Backend + 'static>(
    modules: &[Module<'_>],
    paging: Paging<B::Format>,
    mem: PhysMemory,
    (_caps, args): (&Capabilities, Args),
    backend: Box<Build<B>>,
) -> Result<Verdict, String>
where
    B::Format: Copy + Send + Sync + 'static,
{
    run_world(
        build(modules, paging, mem, (None, args.cpus))?,
        args,
        backend,
    )
}

/// As above; with `conformance=1` the fixture provisions and runs instead.
#[cfg(feature = "fixture")]
fn run_on<B: Backend + tessera_engine::fixture::RawViews + 'static>(
    modules: &[Module<'_>],
    paging: Paging<B::Format>,
    mem: PhysMemory,
    (caps, args): (&Capabilities, Args),
    backend: Box<Build<B>>,
) -> Result<Verdict, String>
where
    B::Format: Copy + Send + Sync + 'static,
{
    if args.fixture {
        // The fixture runs on the boot CPU alone.
        let first = |w: &mut World<B::Format, PhysMemory>| backend(w, CpuIndex::BOOT);
        return crate::fixture::run(modules, paging, mem, (caps, args.boot_budget), first);
    }
    run_world(
        build(modules, paging, mem, (None, args.cpus))?,
        args,
        backend,
    )
}

/// Builds the backend for the world's views and runs the world on it: on the boot CPU
/// alone, or with one vCPU per online CPU (`crate::smp::run_vcpus`).
fn run_world<B: Backend + 'static>(
    mut world: World<B::Format, PhysMemory>,
    args: Args,
    backend: Box<Build<B>>,
) -> Result<Verdict, String>
where
    B::Format: Copy + Send + Sync + 'static,
{
    if args.cpus > 1 {
        return crate::smp::run_vcpus(world, args.cpus, args.boot_budget, backend);
    }
    let cpu = backend(&mut world, CpuIndex::BOOT)?;
    let (verdict, _vcpu) = tessera_engine::boot::run(&mut world, cpu, args.boot_budget);
    Ok(verdict)
}
