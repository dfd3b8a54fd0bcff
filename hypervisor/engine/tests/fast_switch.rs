//! The emulated switch with the watchdog's two phases, on the fake backend: untrapped, a
//! switch whose list entry the memo accepted takes the fast path (core's
//! `vmfunc::fast_switch`: nothing but the pointer and RIP written, counted as any
//! switch); anything else, and every switch once a period has ended (trapped), takes the
//! general path, which charges activations exactly; back in an unbounded `main` the
//! watchdog untraps again.

mod common;

use common::pair::{A, B, FakeWorld, pair, slot};

use tessera_abi::gate::{op, state};
use tessera_core::exit::VmExit;
use tessera_core::paging::Ept;
use tessera_core::watchdog::Watchdog;
use tessera_engine::backend::Fields;
use tessera_engine::boot;
use tessera_engine::fake::backend::{Event, FakeCpu, Step};
use tessera_engine::ids::ViewId;
use tessera_engine::vcpu::{Flow, Vcpu};

/// A vCPU of [`common::pair`]'s world running `script`.
fn vcpu(world: &FakeWorld, script: Vec<Step>) -> Vcpu<FakeCpu> {
    common::pair::vcpu(world, script, false)
}

/// A `VMFUNC` at `from`'s own slot to view `to`, carrying gate operation `op`.
fn switch(from: ViewId, to: ViewId, op: u64) -> Step {
    Step::ud()
        .at(slot(from))
        .reason("exception")
        .regs(move |g| {
            g.rax = 0;
            g.rcx = to.0.into();
            g.r12 = op;
            g.rbx = 0;
            g.r14 = 0;
        })
}

/// Whether the last step took the general path: only it clears the single-step state.
fn general(v: &mut Vcpu<FakeCpu>) -> bool {
    let did = v.cpu.did(Event::ClearSingleStep);
    v.cpu.events.clear();
    did
}

#[test]
fn an_accepted_entry_switches_on_the_fast_path_and_counts_as_any_switch() {
    let (mut world, _) = pair("");
    let script = vec![
        switch(A, B, op::CALL),
        switch(B, A, op::RETURN),
        switch(A, B, op::CALL),
        switch(B, A, op::RETURN),
        Step::exit(VmExit::Interrupt),
    ];
    let mut v = vcpu(&world, script);
    v.start(&mut world, A).expect("started");
    assert!(
        !v.watchdog().trapped(),
        "an emulated engine starts untrapped"
    );
    // The first switch through each slot checks its entry (general path) …
    assert_eq!(v.step(&mut world, A), Ok(None));
    assert!(general(&mut v));
    assert_eq!(v.step(&mut world, A), Ok(None));
    assert!(general(&mut v));
    // … later ones through the same slots do not: the backend makes them and goes on
    // to the next exit, the interrupt.
    assert_eq!(v.step(&mut world, A), Ok(None));
    assert!(v.cpu.did(Event::FastSwitch(B)) && v.cpu.did(Event::FastSwitch(A)));
    assert!(!general(&mut v), "fast path");
    assert_eq!(v.cpu.view, A);
    assert_eq!(v.cpu.rip, slot(B) + 3);
    assert_eq!(world.counters.emulated_switches, 4);
    assert_eq!(world.counters.exits, 5);
    let exits = |w: &FakeWorld, view| w.view(view).stats.exits_by_reason();
    let mut a = exits(&world, A);
    a.sort_unstable();
    assert_eq!(a, [("exception", 2), ("scripted", 1)]);
    assert_eq!(exits(&world, B), [("exception", 2)]);
    // Untrapped, the watchdog followed none of it: only the main's activation.
    assert_eq!(v.watchdog().stack().len(), 1);
}

#[test]
fn a_shadow_or_a_single_step_takes_the_general_path() {
    let (mut world, _) = pair("");
    let script = vec![
        switch(A, B, op::CALL),
        switch(B, A, op::RETURN),
        switch(A, B, op::CALL).shadow(),
        switch(B, A, op::RETURN),
    ];
    let mut v = vcpu(&world, script);
    v.start(&mut world, A).expect("started");
    assert_eq!(v.step(&mut world, A), Ok(None));
    assert_eq!(v.step(&mut world, A), Ok(None));
    v.cpu.events.clear();
    assert_eq!(v.step(&mut world, A), Ok(None));
    assert!(v.cpu.did(Event::ClearInterruptShadow), "the shadow ended");
    assert!(general(&mut v));
    assert_eq!(v.cpu.view, B);
    // TF set: the general path switches and clears it (property 9).
    v.cpu.rflags = 0x302;
    assert_eq!(v.step(&mut world, A), Ok(None));
    assert!(general(&mut v));
    assert_eq!(v.cpu.view, A);
    assert_eq!(v.state.cached(Fields::RFLAGS), Some(0x202));
    assert_eq!(world.counters.emulated_switches, 4);
}

#[test]
fn a_changed_entry_or_another_slot_takes_the_general_path() {
    let (mut world, lines) = pair("");
    let elsewhere = Step::exit(VmExit::VmFuncUd { len: 3 }).at(slot(A) + 0x40);
    let script = vec![
        switch(A, B, op::CALL),
        switch(B, A, op::RETURN),
        switch(A, B, op::CALL),
        elsewhere,
    ];
    let mut v = vcpu(&world, script);
    v.start(&mut world, A).expect("started");
    for _ in 0..2 {
        assert_eq!(v.step(&mut world, A), Ok(None));
    }
    // Reserved bit 8: the memo's entry is not the list's any more, and this one is bad.
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
fn after_the_period_switches_are_charged_and_a_looping_callee_ends_within_twice_its_budget() {
    // B's budget (1024) is the period. A calls B untrapped (nothing charged), B loops:
    // the period ends at the next exit, the watchdog traps, and B's activation, running
    // then, gets a whole budget of its own: it is stopped only once that is used up,
    // while B executes (A is resumed with an error, nobody else stops).
    let (mut world, lines) = pair("watchdog=1024");
    let call = switch(A, B, op::CALL);
    let tick = Step::exit(VmExit::Interrupt).after(1000);
    let spin = Step::exit(VmExit::Interrupt).after(1100);
    let mut v = vcpu(&world, vec![call, tick, spin]);
    v.start(&mut world, A).expect("started");
    assert_eq!(v.step(&mut world, A), Ok(None), "A calls B, untrapped");
    assert_eq!(v.watchdog().stack().len(), 1, "no activation followed");
    world.set_state_word(B, state::DEPTH, 1);
    assert_eq!(v.step(&mut world, A), Ok(None), "the period ends");
    assert!(v.watchdog().trapped());
    assert!(v.cpu.did(Event::Trapped(true)));
    let top = *v.watchdog().stack().last().expect("an activation");
    assert_eq!((top.view, top.budget, top.used), (1, Some(1024), 0));
    assert!(lines.records("FAULT").is_empty(), "{:?}", lines.all());
    let (tags, rsp) = (state::tag(state::OUT, 1, 0), 0x4440);
    world.set_state_word(A, state::DEPTH, 1);
    world.set_state_word(A, state::TAGS, tags);
    world.set_state_word(A, state::RSPS, rsp);
    world.set_state_word(B, state::TAGS, state::tag(state::IN, 0, 0));
    assert_eq!(v.step(&mut world, A), Ok(Some(Flow::Resumed)));
    let faults = lines.records("FAULT");
    assert!(
        faults[0].starts_with("@@FAULT compartment=b kind=watchdog budget=1024 used=1100"),
        "{faults:?}"
    );
    assert_eq!(v.cpu.view, A);
}

#[test]
fn trapped_switches_follow_activations() {
    // Every budget 1024 (the boot-wide `watchdog=`), A's main bounded too.
    let (mut world, _) = pair("");
    let budgets = boot::budgets(&world.manifest, Some(1024));
    let script = vec![
        switch(A, B, op::CALL),
        switch(B, A, op::RETURN),
        Step::exit(VmExit::Interrupt).after(1000),
        switch(A, B, op::CALL),
        switch(B, A, op::RETURN),
    ];
    let cpu = FakeCpu::new(Ept::new(true), script);
    let mut v = Vcpu::new(cpu, Watchdog::new(budgets, false));
    v.start(&mut world, A).expect("started");
    assert_eq!(v.step(&mut world, A), Ok(None));
    assert_eq!(v.step(&mut world, A), Ok(None));
    assert_eq!(v.watchdog().stack().len(), 1, "untrapped: nothing followed");
    assert_eq!(v.step(&mut world, A), Ok(None), "the period ends in A");
    assert!(v.watchdog().trapped());
    v.cpu.events.clear();
    // Trapped: the receiving gate's decision is modelled and B's activation pushed,
    // although the memo accepted the entry (no fast path).
    assert_eq!(v.step(&mut world, A), Ok(None));
    assert!(general(&mut v));
    let top = *v.watchdog().stack().last().expect("an activation");
    assert_eq!((top.view, top.caller), (1, Some(0)));
    assert_eq!(v.watchdog().stack().len(), 2);
    world.set_state_word(A, state::DEPTH, 1);
    world.set_state_word(A, state::TAGS, state::tag(state::OUT, 1, 0));
    assert_eq!(v.step(&mut world, A), Ok(None), "B returns");
    assert!(general(&mut v));
    assert_eq!(v.watchdog().stack().len(), 1, "B's activation ended");
    assert!(v.watchdog().trapped(), "A's main is bounded");
}

#[test]
fn back_in_an_unbounded_main_the_watchdog_untraps() {
    let (mut world, _) = pair("watchdog=1024");
    let script = vec![
        switch(A, B, op::CALL),
        Step::exit(VmExit::Interrupt).after(1000),
        switch(B, A, op::RETURN),
        Step::exit(VmExit::Interrupt),
        switch(A, B, op::CALL),
        Step::exit(VmExit::Interrupt),
    ];
    let mut v = vcpu(&world, script);
    v.start(&mut world, A).expect("started");
    assert_eq!(v.step(&mut world, A), Ok(None), "A calls B, untrapped");
    assert_eq!(v.step(&mut world, A), Ok(None), "the period ends in B");
    assert!(v.watchdog().trapped());
    world.set_state_word(A, state::DEPTH, 1);
    world.set_state_word(A, state::TAGS, state::tag(state::OUT, 1, 0));
    v.cpu.events.clear();
    assert_eq!(v.step(&mut world, A), Ok(None), "B returns");
    assert!(general(&mut v));
    let top = *v.watchdog().stack().last().expect("an activation");
    assert_eq!((top.view, top.budget), (0, None), "A's unbounded main");
    world.set_state_word(A, state::DEPTH, 0);
    assert_eq!(v.step(&mut world, A), Ok(None));
    assert!(!v.watchdog().trapped());
    assert!(v.cpu.did(Event::Trapped(false)));
    v.cpu.events.clear();
    assert_eq!(v.step(&mut world, A), Ok(None));
    assert!(v.cpu.did(Event::FastSwitch(B)));
    assert!(!general(&mut v), "fast path again");
    assert_eq!(v.cpu.view, B);
}

#[test]
fn a_period_ending_at_the_mains_own_call_leaves_it_unbounded() {
    // The period ends at the exit of A's own VMFUNC as it calls B (an emulated engine
    // sees its period end at such exits): A's gate has pushed its OUT frame, so A is at
    // its base with one frame, and its main is unbounded: a new period, nothing trapped
    // (before, A got a bounded ambient activation that never untrapped and stopped A's
    // main once its export budget was used).
    let (mut world, lines) = pair("watchdog=1024");
    let call = switch(A, B, op::CALL).after(2000);
    let mut v = vcpu(&world, vec![call, Step::exit(VmExit::Interrupt)]);
    v.start(&mut world, A).expect("started");
    world.set_state_word(A, state::DEPTH, 1);
    world.set_state_word(A, state::TAGS, state::tag(state::OUT, 1, 0));
    assert_eq!(v.step(&mut world, A), Ok(None));
    assert!(!v.watchdog().trapped());
    assert!(!v.cpu.did(Event::Trapped(true)));
    assert_eq!(v.cpu.view, B);
    assert!(lines.records("FAULT").is_empty(), "{:?}", lines.all());
}
