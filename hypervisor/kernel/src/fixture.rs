//! The VMFUNC conformance fixture in the kernel (cargo feature `fixture`;
//! docs/conformance.md), for a boot with `conformance=1`: the `cases` module split off
//! the boot's modules, the world provisioned for the fixture's compartment, the fixture
//! installed (`tessera_engine::fixture`) and the backend wrapped in it. The hardware
//! hooks it needs are `vmx/fixture.rs` and `svm/fixture.rs`.

use crate::phys::PhysMemory;
use crate::serial::Com1;
use alloc::boxed::Box;
use alloc::string::String;
use tessera_core::caps::Capabilities;
use tessera_engine::backend::Backend;
use tessera_engine::fixture::{self, Cpu, Fixture, RawViews};
use tessera_engine::provision::{Module, Paging};
use tessera_engine::verdict::Verdict;
use tessera_engine::world::World;

/// Runs the fixture's compartment from `modules` on the backend `backend` builds, wrapped
/// in the fixture; `boot_budget` is the kernel argument `watchdog=`.
pub fn run<B: Backend + RawViews>(
    modules: &[Module<'_>],
    paging: Paging<B::Format>,
    mem: PhysMemory,
    (caps, boot_budget): (&Capabilities, Option<u64>),
    backend: impl FnOnce(&mut World<B::Format, PhysMemory>) -> Result<B, String>,
) -> Result<Verdict, String> {
    let (modules, cases) = fixture::split_cases(modules);
    let mut world = crate::run::build(&modules, paging, mem, (Some(fixture::COMPARTMENTS), 1))?;
    // The VMX backend runs wherever the CPU has VMX (`crate::run`), the SVM one elsewhere.
    let vmx = caps.vmx.as_ref();
    let cpu = Cpu {
        maxphyaddr: caps.maxphyaddr,
        ept: vmx.is_some(),
        ve: vmx.is_some_and(|v| v.ve),
    };
    let setup = fixture::install(&mut world, cases, cpu)?;
    let inner = backend(&mut world)?;
    let decorated = Fixture::new(inner, setup, Box::new(Com1));
    let (verdict, _vcpu) = tessera_engine::boot::run(&mut world, decorated, boot_budget);
    Ok(verdict)
}
