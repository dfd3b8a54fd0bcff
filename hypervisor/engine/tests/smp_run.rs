//! Several vCPUs on the fake machine (docs/gates.md "SMP", docs/architecture.md "SMP"):
//! each vCPU runs the mains its manifest places on it, at the same time, on one world
//! behind its lock (`world::Shared`); a compartment stopped on one vCPU is unwound at
//! another vCPU's next exit, on that vCPU's own thread, stopping nobody there; the
//! stopping vCPU kicks every other running vCPU; a restart waits until each of them has
//! exited since the stop.

mod common;

use common::{MEMORY, hello, manifest, pong};
use std::thread;
use tessera_abi::gate::state;
use tessera_abi::hypercall as nr;
use tessera_core::exit::VmExit;
use tessera_core::paging::Ept;
use tessera_core::watchdog::Watchdog;
use tessera_engine::boot;
use tessera_engine::fake::backend::{Event, FakeCpu, Step};
use tessera_engine::fake::{self, FakeMemory, Lines};
use tessera_engine::ids::ViewId;
use tessera_engine::vcpu::{Flow, Vcpu};
use tessera_engine::verdict::Verdict;
use tessera_engine::world::{Shared, World};

type FakeWorld = World<Ept, FakeMemory>;

const A: ViewId = ViewId(0);
const B: ViewId = ViewId(1);

/// a (main on vCPU `a_cpu`) calls b (parallel, restartable; main on vCPU 1), 2 vCPUs.
fn app(a_cpu: u32) -> (FakeWorld, Lines) {
    let text = format!(
        "tessera-manifest 1\ncompartment a calls=b cpu={a_cpu}\n\
         compartment b exports=pong concurrency=parallel restart=on-fault cpu=1\n"
    );
    let text: &'static str = Box::leak(text.into_boxed_str());
    let modules = [("manifest", manifest(text)), ("a", hello()), ("b", pong())];
    fake::world_smp(&modules, 4 * MEMORY, 2).expect("provisioned")
}

fn exit0() -> Step {
    Step::exit(VmExit::Hypercall { len: 3 })
        .reason("vmcall")
        .regs(|g| {
            g.rax = nr::EXIT;
            g.rdi = 0;
        })
}

fn vcpu(world: &FakeWorld, cpu: usize, script: Vec<Step>) -> Vcpu<FakeCpu> {
    let budgets = boot::budgets(&world.manifest, None);
    let mut fake = FakeCpu::new(Ept::new(true), script);
    fake.cpu = cpu;
    Vcpu::new(fake, Watchdog::new(budgets, false))
}

#[test]
fn every_vcpu_runs_the_mains_placed_on_it_at_the_same_time() {
    let (world, lines) = app(0);
    let budgets = boot::budgets(&world.manifest, None);
    let shared: &'static Shared<Ept, FakeMemory> = Box::leak(Box::new(Shared::new(world)));
    let runs: Vec<_> = (0..2)
        .map(|k| {
            let budgets = budgets.clone();
            thread::spawn(move || {
                // Built on its own thread: a vCPU's backend never leaves its CPU.
                let mut cpu = FakeCpu::new(Ept::new(true), vec![exit0()]);
                cpu.cpu = k;
                boot::run_vcpu(shared, cpu, budgets)
            })
        })
        .collect();
    for run in runs {
        assert_eq!(run.join().expect("no panic"), Ok(()));
    }
    let verdict = boot::finish(&mut shared.lock(), &[]);
    assert_eq!(verdict, Verdict::Pass, "{:?}", lines.all());
    let mut exits = lines.records("EXIT");
    exits.sort();
    assert_eq!(
        exits,
        [
            "@@EXIT compartment=a cpu=0 code=0",
            "@@EXIT compartment=b cpu=1 code=0",
        ],
        "each main on its own vCPU, each line naming it"
    );
    let failed = boot::finish(&mut shared.lock(), &[(1, "lost".into())]);
    assert_eq!(failed, Verdict::Fail("vCPU 1: lost".into()));
}

/// Writes the frames a call from a to b leaves on vCPU `cpu`.
fn call_frames(world: &mut FakeWorld, cpu: usize, rsp: u64) {
    world.set_state_word_on(cpu, A, state::DEPTH, 1);
    world.set_state_word_on(cpu, A, state::TAGS, state::tag(state::OUT, 1, 0));
    world.set_state_word_on(cpu, A, state::RSPS, rsp);
    world.set_state_word_on(cpu, B, state::DEPTH, 1);
    world.set_state_word_on(cpu, B, state::TAGS, state::tag(state::IN, 0, 0));
}

#[test]
fn a_view_stopped_on_another_vcpu_is_unwound_at_this_vcpus_next_exit_stopping_nobody() {
    // vCPU 1 runs a's main, inside a call to b; vCPU 0 stops b for b's own fault there.
    let (mut world, lines) = app(1);
    let interrupt = Step::exit(VmExit::Interrupt).reason("kick").in_view(B);
    let mut v = vcpu(&world, 1, vec![interrupt, exit0()]);
    v.start(&mut world, A).expect("started");
    call_frames(&mut world, 1, 0x1234_5670);
    world.set_running(0, Some(B));
    world.fail(B, "memory");
    let before = lines.all().len();
    // vCPU 1's next exit (the kick's): b's frame goes, a is resumed with CALLEE_FAILED.
    assert_eq!(v.step(&mut world, A), Ok(Some(Flow::Resumed)));
    assert!(v.cpu.did(Event::SwitchTo(A)));
    assert_eq!(v.state.gprs.rdx, tessera_abi::gate::status::CALLEE_FAILED);
    let new = &lines.all()[before..];
    assert_eq!(
        new,
        ["@@UNWIND resumed=a status=1 cpu=1"],
        "no @@FAULT on vCPU 1: it stops nobody"
    );
    assert!(!world.view(A).compartment.stopped());
    assert_eq!(world.depth_on(1, B), 0);
    assert_eq!(world.depth_on(1, A), 0);
    // Only vCPU 1's frames: vCPU 0's thread is its own.
    assert_eq!(world.state_word_on(0, A, state::DEPTH), 0);
    // b's restart waits for vCPU 0 (it runs b's main there), not for vCPU 1's frames.
    assert!(world.view(B).lifecycle.pending.is_some());
    world.set_running(0, None);
    assert_eq!(v.step(&mut world, A), Ok(Some(Flow::MainOver)));
    assert!(
        world.view(B).lifecycle.pending.is_none(),
        "{:?}",
        lines.all()
    );
}

#[test]
fn the_stopping_vcpu_kicks_every_other_running_vcpu_and_a_restart_waits_for_their_exits() {
    // vCPU 0 runs a's main; a call into b faults there while vCPU 1 runs b's main.
    let (mut world, lines) = app(0);
    let fault = Step::exit(VmExit::Exception {
        vector: 0,
        error_code: None,
    })
    .in_view(B);
    let mut v = vcpu(&world, 0, vec![fault, exit0()]);
    v.start(&mut world, A).expect("started");
    call_frames(&mut world, 0, 0x1234_5670);
    world.set_running(1, Some(A));
    assert_eq!(v.step(&mut world, A), Ok(Some(Flow::Resumed)));
    assert!(
        v.cpu.did(Event::Kick(1)),
        "the other running vCPU is kicked"
    );
    assert!(!v.cpu.did(Event::Kick(0)), "not itself");
    assert_eq!(lines.records("FAULT").len(), 1);
    // b has no frame left anywhere, but vCPU 1 has not exited since the stop: it may
    // still be inside b's gate, so b waits.
    assert!(
        world.view(B).lifecycle.pending.is_some(),
        "{:?}",
        lines.all()
    );
    world.count_exit_on(1);
    world
        .restart_ready((1, A, false), &|| 0)
        .expect("no L1 bug");
    assert!(
        world.view(B).lifecycle.pending.is_none(),
        "{:?}",
        lines.all()
    );
    assert_eq!(lines.records("RESTART").len(), 1);
}

#[test]
fn a_stopped_views_gate_refusing_a_call_on_another_vcpu_switches_back_as_the_gate_asks() {
    // vCPU 1: a called b, stopped meanwhile on vCPU 0 (restart pending); b has no frame
    // here: its gate refuses (RESTARTING) and switches back to a. Not unwound: a gets the
    // gate's own status, and nothing is printed.
    let (mut world, lines) = app(1);
    let refuse = Step::ud()
        .at(tessera_abi::gate::SLOTS + tessera_abi::gate::SLOT_SIZE * u64::from(B.0))
        .in_view(B)
        .regs(|g| {
            g.rax = 0;
            g.rcx = u64::from(A.0);
            g.r12 = tessera_abi::gate::op::REFUSE;
            g.rdx = tessera_abi::gate::status::RESTARTING;
        });
    let mut v = vcpu(&world, 1, vec![refuse, exit0()]);
    v.start(&mut world, A).expect("started");
    world.set_state_word_on(1, A, state::DEPTH, 1);
    world.set_state_word_on(1, A, state::TAGS, state::tag(state::OUT, 1, 0));
    world.set_running(0, Some(B));
    world.fail(B, "memory");
    let before = lines.all().len();
    assert_eq!(v.step(&mut world, A), Ok(None));
    assert!(
        v.cpu.did(Event::SwitchTo(A)),
        "the gate's switch back is made"
    );
    assert_eq!(&lines.all()[before..], [] as [String; 0], "no unwind");
    assert_eq!(world.depth_on(1, A), 1, "a's gate pops its own frame");
    // Any other exit of the stopped view here is unwound (the kick's, say).
    let (mut world, lines) = app(1);
    let kick = Step::exit(VmExit::Interrupt).reason("kick").in_view(B);
    let mut v = vcpu(&world, 1, vec![kick, exit0()]);
    v.start(&mut world, A).expect("started");
    world.set_state_word_on(1, A, state::DEPTH, 1);
    world.set_state_word_on(1, A, state::TAGS, state::tag(state::OUT, 1, 0));
    world.fail(B, "memory");
    assert_eq!(v.step(&mut world, A), Ok(Some(Flow::Resumed)));
    assert_eq!(lines.records("UNWIND").len(), 1, "{:?}", lines.all());
}
