//! Scripted hypercalls on the fake backend: buffers put in a view's own image, calls
//! made, and the results the guest was resumed with.

use tessera_abi::hypercall as nr;
use tessera_core::exit::VmExit;
use tessera_core::paging::Ept;
use tessera_engine::boot;
use tessera_engine::fake::backend::FakeCpu;
pub use tessera_engine::fake::backend::Step;
use tessera_engine::fake::{self, FakeMemory, Lines};
use tessera_engine::ids::ViewId;
use tessera_engine::verdict::Verdict;
use tessera_engine::world::World;

use super::MEMORY;

pub type FakeWorld = World<Ept, FakeMemory>;

/// Offset in an image where tests put hypercall buffers (hello's .bss).
const SCRATCH: u64 = 0x9000;

/// Writes `bytes` into `view`'s image at `SCRATCH + at`; returns their guest address.
pub fn put(world: &mut FakeWorld, view: u16, at: u64, bytes: &[u8]) -> u64 {
    let v = world.view(ViewId(view));
    let image = v.image.as_ref().expect("image");
    let (hpa, gva) = (
        image.frames.start() + SCRATCH + at,
        v.region.base + SCRATCH + at,
    );
    world.mem.poke(hpa, bytes);
    gva
}

/// Hypercall `number` with RDI, RSI, RDX, R10 = `args`.
pub fn call(number: u64, args: [u64; 4]) -> Step {
    Step::exit(VmExit::Hypercall { len: 3 })
        .reason("vmcall")
        .regs(move |g| {
            g.rax = number;
            [g.rdi, g.rsi, g.rdx, g.r10] = args;
        })
}

/// EXIT with code 0.
pub fn exit0() -> Step {
    call(nr::EXIT, [0; 4])
}

/// Boots `world` on a fake CPU replaying `script`.
pub fn run(world: &mut FakeWorld, script: Vec<Step>) -> (Verdict, FakeCpu) {
    let (verdict, vcpu) = boot::run(world, FakeCpu::new(Ept::new(true), script), None);
    (verdict, vcpu.cpu)
}

/// RAX as the guest saw it after hypercall `k` (0-based) of the script.
pub fn result(cpu: &FakeCpu, k: usize) -> i64 {
    cpu.entered_with[k + 1].rax as i64
}

/// A world of these modules (`("name args", image)`), and its transcript.
pub fn world(modules: &[(&str, &'static [u8])]) -> (FakeWorld, Lines) {
    fake::world(modules, MEMORY).expect("provisioned")
}
