//! The emulated VMFUNC and containment on the fake backend: a switch at the own slot,
//! every way VMFUNC can fail, and a callee that faults or overruns its budget while its
//! caller waits (the caller is resumed at the gate with an error; nobody else stops).

mod common;

use common::pair::{A, B, FakeWorld, pair, slot};

use common::PONG;
use tessera_abi::gate::{self, info, op, state, status};
use tessera_abi::hypercall as nr;
use tessera_core::exit::VmExit;
use tessera_core::outcome::Outcome;
use tessera_engine::backend::Fields;
use tessera_engine::fake::backend::{Event, FakeCpu, Step};
use tessera_engine::fake::{self};
use tessera_engine::ids::ViewId;
use tessera_engine::vcpu::{Flow, Vcpu};

/// A vCPU of [`common::pair`]'s world running `script`.
fn vcpu(world: &FakeWorld, script: Vec<Step>) -> Vcpu<FakeCpu> {
    common::pair::vcpu(world, script, true)
}

/// A `VMFUNC` the CPU refused with #UD at `rip`, in the view the script is in.
fn vmfunc(rip: u64, rax: u64, rcx: u64) -> Step {
    Step::ud().at(rip).regs(move |g| {
        g.rax = rax;
        g.rcx = rcx;
        g.r12 = op::CALL;
        g.rbx = 0;
        g.r14 = 0;
    })
}

#[test]
fn vmfunc_at_the_own_slot_switches_views_and_skips_it() {
    let (mut world, _) = pair("");
    let mut v = vcpu(&world, vec![vmfunc(slot(A), 0, 1)]);
    v.start(&mut world, A).expect("started");
    assert_eq!(v.step(&mut world, A), Ok(None));
    assert!(v.cpu.did(Event::SwitchTo(B)));
    assert_eq!(v.cpu.view, B);
    assert_eq!(v.state.cached(Fields::RIP), Some(slot(A) + 3));
    assert!(v.cpu.did(Event::ClearInterruptShadow));
    assert!(v.cpu.did(Event::ClearSingleStep), "property 9");
    assert_eq!(world.counters.emulated_switches, 1);
}

fn fails(step: Step, expected: &str) {
    let (mut world, lines) = pair("");
    let mut v = vcpu(&world, vec![step]);
    v.start(&mut world, A).expect("started");
    assert_eq!(v.step(&mut world, A), Ok(Some(Flow::MainOver)));
    let faults = lines.records("FAULT");
    assert_eq!(faults.len(), 1, "{:?}", lines.all());
    assert!(
        faults[0].starts_with(&format!("@@FAULT compartment=a {expected}")),
        "{faults:?}"
    );
    assert_eq!(world.counters.emulated_switches, 0);
    assert!(!v.cpu.did(Event::SwitchTo(B)));
}

#[test]
fn every_failing_vmfunc_is_the_executing_views_own_fault() {
    // An index past the views: an empty list entry, exit 59.
    fails(
        vmfunc(slot(A), 0, 7),
        "kind=vmfunc reason=invalid-eptp-switch",
    );
    fails(
        vmfunc(slot(A), 0, 600),
        "kind=vmfunc reason=invalid-eptp-switch",
    );
    // Leaf 1 is not enabled (exit 59); leaf 64 is #UD.
    fails(
        vmfunc(slot(A), 1, 1),
        "kind=vmfunc reason=invalid-eptp-switch",
    );
    fails(vmfunc(slot(A), 64, 1), "kind=exception vector=6");
    // Not at the own slot (the backend decoded VMFUNC somewhere else).
    let (entry, _) = pair("").0.view(A).start().expect("image");
    let elsewhere = Step::exit(VmExit::VmFuncUd { len: 3 }).at(entry);
    fails(elsewhere, "kind=vmfunc reason=outside-own-slot");
    // Another view's slot holds int3 in A's copy: a genuine #UD there.
    fails(vmfunc(slot(B), 0, 1), "kind=exception vector=6");
}

#[test]
fn where_the_cpu_switches_itself_a_vmfunc_ud_is_genuine() {
    let (mut world, lines) = pair("");
    let mut v = vcpu(&world, vec![vmfunc(slot(A), 64, 1)]);
    v.cpu.hardware = true;
    v.start(&mut world, A).expect("started");
    assert_eq!(v.step(&mut world, A), Ok(Some(Flow::MainOver)));
    assert!(lines.records("FAULT")[0].contains("kind=exception vector=6"));
}

/// Writes the frames a call from A to B leaves: A's OUT frame, B's IN frame.
fn call_frames(world: &mut FakeWorld, rsp: u64) {
    world.set_state_word(A, state::DEPTH, 1);
    world.set_state_word(A, state::TAGS, state::tag(state::OUT, 1, 0));
    world.set_state_word(A, state::RSPS, rsp);
    world.set_state_word(B, state::DEPTH, 1);
    world.set_state_word(B, state::TAGS, state::tag(state::IN, 0, 0));
}

#[test]
fn a_callee_that_faults_is_stopped_and_its_caller_resumed_with_an_error() {
    let (mut world, lines) = pair("");
    let fault = Step::exit(VmExit::Exception {
        vector: 0,
        error_code: None,
    })
    .in_view(B);
    let exit = Step::exit(VmExit::Hypercall { len: 3 }).regs(|g| g.rax = nr::EXIT);
    let mut v = vcpu(&world, vec![fault, exit]);
    v.start(&mut world, A).expect("started");
    call_frames(&mut world, 0x1234_5670);
    assert_eq!(v.step(&mut world, A), Ok(Some(Flow::Resumed)));
    assert!(v.cpu.did(Event::SwitchTo(A)));
    assert_eq!(
        v.state.cached(Fields::RIP),
        Some(gate::CODE + fake::GATE_CODE.resume)
    );
    assert_eq!(v.state.cached(Fields::RSP), Some(0x1234_5670));
    assert_eq!(v.state.cached(Fields::RFLAGS), Some(0x202));
    assert_eq!(v.state.gprs.rdx, status::CALLEE_FAILED);
    assert_eq!(
        v.state.gprs.rax, 0,
        "nothing of the callee's registers is left"
    );
    assert_eq!(world.depth_on(0, A), 0, "A's pending call completed");
    assert_eq!(v.step(&mut world, A), Ok(Some(Flow::MainOver)));
    let unwind = format!("@@UNWIND resumed=a status={}", status::CALLEE_FAILED);
    assert!(lines.has(&unwind), "{:?}", lines.all());
    assert_eq!(
        world.view(B).compartment.outcome,
        Some(Outcome::Faulted("exception"))
    );
    assert_eq!(world.view(A).compartment.outcome, Some(Outcome::Exited(0)));
    assert_eq!(lines.records("FAULT").len(), 1);
}

#[test]
fn a_callee_over_its_budget_is_stopped_by_the_watchdog_alone() {
    let (mut world, lines) = pair("watchdog=1024");
    // B's export is in its info page from the load; A calls it: an emulated switch the
    // watchdog sees as a call.
    let base = world.view(B).region.base;
    assert_eq!(world.info_word(B, info::EXPORTS), base + PONG);
    let call = vmfunc(slot(A), 0, 1);
    let spin = Step::exit(VmExit::Interrupt).after(1 << 20);
    let mut v = vcpu(&world, vec![call, spin]);
    v.start(&mut world, A).expect("started");
    assert_eq!(v.step(&mut world, A), Ok(None));
    assert_eq!(v.cpu.view, B);
    call_frames(&mut world, 0x4440);
    assert_eq!(v.step(&mut world, A), Ok(Some(Flow::Resumed)));
    let faults = lines.records("FAULT");
    assert!(
        faults[0].starts_with("@@FAULT compartment=b kind=watchdog budget=1024 used="),
        "{faults:?}"
    );
    assert_eq!(v.cpu.view, A);
    assert_eq!(world.view(A).compartment.outcome, None, "A runs on");
}

/// A `VMFUNC` at `rip` to view `to` carrying gate operation `op`.
fn switch_op(rip: u64, to: ViewId, op: u64) -> Step {
    Step::ud().at(rip).regs(move |g| {
        g.rax = 0;
        g.rcx = to.0.into();
        g.r12 = op;
        g.rbx = 0;
        g.r14 = 0;
    })
}

#[test]
fn a_list_entry_changed_after_a_switch_is_checked_again() {
    // The emulated switch remembers the entries it accepted; an entry that changes is
    // checked again (an invalid one is exit 59, the executing view's fault).
    let (mut world, lines) = pair("");
    let there = vmfunc(slot(A), 0, 1);
    let back = switch_op(slot(B), A, op::CALL);
    let again = vmfunc(slot(A), 0, 1);
    let mut v = vcpu(&world, vec![there, back, again]);
    v.start(&mut world, A).expect("started");
    assert_eq!(v.step(&mut world, A), Ok(None));
    assert_eq!(v.step(&mut world, A), Ok(None));
    assert_eq!(v.cpu.view, A);
    assert_eq!(world.counters.emulated_switches, 2);
    // Reserved bit 8 set: no longer a valid EPTP.
    world.lists[0][1] |= 1 << 8;
    assert_eq!(v.step(&mut world, A), Ok(Some(Flow::MainOver)));
    let faults = lines.records("FAULT");
    assert!(
        faults[0].starts_with("@@FAULT compartment=a kind=vmfunc reason=invalid-eptp-switch"),
        "{faults:?}"
    );
    assert_eq!(world.counters.emulated_switches, 2);
}

#[test]
fn each_activation_across_emulated_switches_has_its_own_budget() {
    // B's budget is 1024 ticks per activation. A calls B, B returns after 600, A calls B
    // again and B runs 600 more: 1200 in all, but no activation overran, so nobody is
    // stopped. Only when the second activation runs past 1024 is B stopped.
    let (mut world, lines) = pair("watchdog=1024");
    let call = vmfunc(slot(A), 0, 1);
    let ret = switch_op(slot(B), A, op::RETURN).after(600);
    let call_again = vmfunc(slot(A), 0, 1).after(10);
    let tick = Step::exit(VmExit::Interrupt).after(600);
    let spin = Step::exit(VmExit::Interrupt).after(1 << 20);
    let mut v = vcpu(&world, vec![call, ret, call_again, tick, spin]);
    v.start(&mut world, A).expect("started");
    assert_eq!(v.step(&mut world, A), Ok(None), "A calls B");
    assert_eq!(v.watchdog().stack().len(), 2);
    // A's gate pushed its OUT frame before switching: B's RETURN matches it.
    world.set_state_word(A, state::DEPTH, 1);
    world.set_state_word(A, state::TAGS, state::tag(state::OUT, 1, 0));
    assert_eq!(v.step(&mut world, A), Ok(None), "B returns");
    assert_eq!(v.watchdog().stack().len(), 1, "B's activation ended");
    world.set_state_word(A, state::DEPTH, 0);
    assert_eq!(v.step(&mut world, A), Ok(None), "A calls B again");
    assert_eq!(
        v.step(&mut world, A),
        Ok(None),
        "600 ticks into a new activation"
    );
    assert!(lines.records("FAULT").is_empty(), "{:?}", lines.all());
    call_frames(&mut world, 0x4440);
    assert_eq!(v.step(&mut world, A), Ok(Some(Flow::Resumed)));
    let faults = lines.records("FAULT");
    assert!(
        faults[0].starts_with("@@FAULT compartment=b kind=watchdog budget=1024 used="),
        "{faults:?}"
    );
    assert_eq!(v.cpu.view, A);
}
