//! Two views on the fake backend: `a` (hello) calls `b` (pong, exporting `pong`), with
//! `b`'s manifest entry taking extra words (a `watchdog=` budget), and a vCPU for them.

use tessera_abi::gate;
use tessera_core::paging::Ept;
use tessera_core::watchdog::Watchdog;
use tessera_engine::boot;
use tessera_engine::fake::backend::{FakeCpu, Step};
use tessera_engine::fake::{self, FakeMemory, Lines};
use tessera_engine::ids::ViewId;
use tessera_engine::vcpu::Vcpu;
use tessera_engine::world::World;

use super::{MEMORY, hello, manifest, pong};

pub type FakeWorld = World<Ept, FakeMemory>;

pub const A: ViewId = ViewId(0);
pub const B: ViewId = ViewId(1);

/// The two views, `extra` added to `b`'s manifest line.
pub fn pair(extra: &str) -> (FakeWorld, Lines) {
    let text =
        format!("tessera-manifest 1\ncompartment a calls=b\ncompartment b exports=pong {extra}\n");
    let modules = [("manifest", manifest(&text)), ("a", hello()), ("b", pong())];
    fake::world(&modules, MEMORY).expect("provisioned")
}

/// `view`'s own slot.
pub fn slot(view: ViewId) -> u64 {
    gate::SLOTS + gate::SLOT_SIZE * u64::from(view.0)
}

/// A vCPU without hardware VMFUNC running `script`: its watchdog `always_trapped`, or
/// with both phases as `boot::run` makes it.
pub fn vcpu(world: &FakeWorld, script: Vec<Step>, always_trapped: bool) -> Vcpu<FakeCpu> {
    let budgets = boot::budgets(&world.manifest, None);
    Vcpu::new(
        FakeCpu::new(Ept::new(true), script),
        Watchdog::new(budgets, always_trapped),
    )
}
