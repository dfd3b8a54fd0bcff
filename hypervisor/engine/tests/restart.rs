//! Restarting a compartment from its pristine image (world/lifecycle.rs) on the fake
//! backend: the state transitions, the `max_restarts` limit, calls arriving while a
//! restart is pending, and memory that keeps none of the old bytes.

mod common;

use common::script::{FakeWorld, exit0, run, world};
use common::{hello, manifest, pong};
use tessera_abi::gate::{info, op, state, status};
use tessera_core::exit::VmExit;
use tessera_core::outcome::Outcome;
use tessera_core::protocol::{Decision, Message};
use tessera_engine::backend::Fields;
use tessera_engine::fake::backend::{Event, Step};
use tessera_engine::ids::ViewId;
use tessera_engine::port::Memory as _;
use tessera_engine::verdict::Verdict;
use tessera_engine::world::Status;

const A: ViewId = ViewId(0);
const B: ViewId = ViewId(1);

fn one(line: &str, expect: &str) -> (FakeWorld, tessera_engine::fake::Lines) {
    let text = format!("tessera-manifest 1\ncompartment a {line}\n");
    world(&[
        ("manifest", manifest(&text)),
        (&format!("a {expect}"), hello()),
    ])
}

fn hlt(world: &FakeWorld) -> Step {
    let (entry, _) = world.view(A).start().expect("image");
    Step::exit(VmExit::Hlt).at(entry + 4)
}

#[test]
fn a_main_that_faults_is_restarted_runs_again_from_its_entry_and_its_last_outcome_counts() {
    let (mut w, lines) = one("restart=on-fault max_restarts=1", "");
    let (entry, rsp) = w.view(A).start().expect("image");
    let (verdict, cpu) = {
        let script = vec![hlt(&w), exit0()];
        run(&mut w, script)
    };
    assert_eq!(verdict, Verdict::Pass, "{:?}", lines.all());
    let restart = lines.records("RESTART");
    assert_eq!(restart.len(), 1, "{:?}", lines.all());
    assert!(
        restart[0].starts_with("@@RESTART compartment=a reason=privileged count=1 dirty="),
        "{restart:?}"
    );
    // Entered twice at its entry point on a fresh stack.
    let resets = cpu.events.iter().filter(|e| **e == Event::Reset(A)).count();
    assert_eq!(resets, 2);
    assert!(cpu.did(Event::Wrote(Fields::RIP, entry)));
    assert!(cpu.did(Event::Wrote(Fields::RSP, rsp)));
    let v = w.view(A);
    assert_eq!(v.compartment.outcome, Some(Outcome::Exited(0)));
    assert_eq!((v.stats.faults, v.stats.restarts), (1, 1));
    assert_eq!(w.info_word(A, info::RESTARTS), 1);
    assert_eq!(w.info_word(A, info::FAILED), 0);
    let stats = &lines.records("STATS")[0];
    assert!(stats.contains(" faults=1 restarts=1 "), "{stats}");
}

#[test]
fn max_restarts_bounds_the_restarts_then_it_stays_stopped() {
    let (mut w, lines) = one("restart=on-fault max_restarts=2", "expect=fault");
    let script = vec![hlt(&w), hlt(&w), hlt(&w), exit0()];
    let (verdict, _) = run(&mut w, script);
    assert_eq!(verdict, Verdict::Pass, "{:?}", lines.all());
    assert_eq!(lines.records("FAULT").len(), 3);
    let counts: Vec<String> = lines.records("RESTART");
    assert_eq!(counts.len(), 2, "{counts:?}");
    assert!(counts[1].contains(" count=2 "), "{counts:?}");
    let v = w.view(A);
    assert_eq!(v.compartment.status, Status::Failed);
    assert_eq!(v.compartment.outcome, Some(Outcome::Faulted("privileged")));
    assert_eq!(w.info_word(A, info::FAILED), status::CALLEE_FAILED);
    assert_eq!(w.info_word(A, info::RESTARTS), 2);
}

#[test]
fn never_is_the_default_a_stopped_compartment_stays_stopped() {
    let (mut w, lines) = one("", "expect=fault");
    let (verdict, _) = {
        let script = vec![hlt(&w)];
        run(&mut w, script)
    };
    assert_eq!(verdict, Verdict::Pass, "{:?}", lines.all());
    assert!(lines.records("RESTART").is_empty());
    assert!(w.view(A).pristine.is_none(), "no copy kept for `never`");
    assert_eq!(w.info_word(A, info::FAILED), status::CALLEE_FAILED);
}

#[test]
fn a_restarted_compartment_keeps_none_of_its_old_bytes() {
    let (mut w, lines) = one("restart=on-fault", "");
    let secret = *b"the old secret, never to be seen again";
    let (image, heap, stack) = {
        let i = w.view(A).image.as_ref().expect("image");
        (i.frames.start(), i.heap.start(), i.stack.start())
    };
    let span = w.view(A).image.as_ref().expect("image").plan.span;
    let pristine: Vec<u8> =
        w.mem.bytes(&w.view(A).image.as_ref().unwrap().frames)[..span as usize].to_vec();
    // In its .bss, its heap and its stack, as a run would leave them.
    for at in [image + 0x9000, heap + 0x10, stack + 0x2000] {
        w.mem.poke(at, &secret);
    }
    let (verdict, _) = {
        let script = vec![hlt(&w), exit0()];
        run(&mut w, script)
    };
    assert_eq!(verdict, Verdict::Pass, "{:?}", lines.all());
    // The three pages poked, and its shared page: L1 claimed OWNER for its serial `main`.
    assert!(
        lines.records("RESTART")[0].contains(" dirty=4 ticks="),
        "{:?}",
        lines.all()
    );
    let i = w.view(A).image.as_ref().expect("image");
    assert_eq!(&w.mem.bytes(&i.frames)[..span as usize], &pristine[..]);
    for zone in [&i.heap, &i.stack] {
        assert!(w.mem.bytes(zone).iter().all(|&b| b == 0));
    }
    for zone in [&i.frames, &i.heap, &i.stack, &w.view(A).roots[0].state] {
        let found = w
            .mem
            .bytes(zone)
            .windows(secret.len())
            .any(|win| win == secret);
        assert!(!found, "the secret survived the restart");
    }
}

/// Scenario `redteam` (`attack-residue`) found the call buffers kept: they hold what the
/// compartment's old life sent and received. Those of its edges, both ways, are zeroed;
/// another edge's buffer is not its to clear.
#[test]
fn a_restarted_compartment_finds_its_call_buffers_empty() {
    let text = "tessera-manifest 1\n\
                compartment a calls=b\n\
                compartment b exports=pong calls=c restart=on-fault\n\
                compartment c exports=pong\n\
                compartment d calls=c\n";
    let (mut w, lines) = world(&[
        ("manifest", manifest(text)),
        ("a", hello()),
        ("b", pong()),
        ("c", pong()),
        ("d", hello()),
    ]);
    let secret = *b"what b's old life sent and received";
    let edge = |w: &FakeWorld, from: u16, to: u16| {
        let c = w
            .channels
            .iter()
            .find(|c| c.caller == ViewId(from) && c.callee == ViewId(to))
            .expect("the edge has a buffer");
        c.frames[0].start() // vCPU 0's copy (this world has one vCPU)
    };
    let (ab, bc, dc) = (edge(&w, 0, 1), edge(&w, 1, 2), edge(&w, 3, 2));
    for at in [ab + 0x10, bc + 0x800, dc] {
        w.mem.poke(at, &secret);
    }
    w.fail(B, "page-fault");
    w.restart_ready((0, A, false), &|| 0).expect("no bug");
    assert!(
        lines.records("RESTART")[0].contains(" dirty=2 "),
        "{:?}",
        lines.all()
    );
    let holds = |w: &FakeWorld, from: u16, to: u16| {
        let c = w
            .channels
            .iter()
            .find(|c| c.caller == ViewId(from) && c.callee == ViewId(to))
            .expect("the edge has a buffer");
        w.mem
            .bytes(&c.frames[0])
            .windows(secret.len())
            .any(|win| win == secret)
    };
    assert!(!holds(&w, 0, 1), "a->b kept b's old life's bytes");
    assert!(!holds(&w, 1, 2), "b->c kept b's old life's bytes");
    assert!(holds(&w, 3, 2), "d->c is not b's: kept");
}

#[test]
fn a_pristine_copy_that_changed_fails_the_boot() {
    let (mut w, lines) = one("restart=on-fault", "expect=fault");
    let copy = w.view(A).pristine.as_ref().expect("kept").frames.start();
    w.mem.poke(copy + 0x100, b"\x90");
    let (verdict, _) = {
        let script = vec![hlt(&w)];
        run(&mut w, script)
    };
    let Verdict::Fail(reason) = verdict else {
        panic!("passed: {:?}", lines.all())
    };
    assert!(reason.contains("pristine image of 'a' changed"), "{reason}");
    assert!(lines.records("RESTART").is_empty());
}

#[test]
fn every_image_is_measured_before_it_runs() {
    let (_, lines) = one("", "");
    let image = lines.records("IMAGE");
    let want = tessera_core::sha256::hex(&tessera_core::sha256::digest(hello()));
    assert_eq!(image, [format!("@@IMAGE compartment=a sha256={want}")]);
}

/// A CALL from view 0 to export 0.
fn call() -> Message {
    Message {
        source: 0,
        op: op::CALL,
        word: 0,
        at: 0,
    }
}

#[test]
fn calls_arriving_while_a_restart_is_pending_get_restarting_then_the_restarted_export() {
    let text = "tessera-manifest 1\n\
                compartment a calls=b\n\
                compartment b exports=pong restart=on-fault\n";
    let (mut w, lines) = world(&[("manifest", manifest(text)), ("a", hello()), ("b", pong())]);
    let export = w.info_word(B, info::EXPORTS);
    assert_eq!(w.receiving_gate(0, B, &call()), Decision::Accept(export));
    // b faulted while a call chain still passes through it (an OUT frame of its own).
    w.set_state_word(B, state::TAGS, state::tag(state::OUT, 0, 0));
    w.set_state_word(B, state::DEPTH, 1);
    w.fail(B, "page-fault");
    assert_eq!(w.view(B).compartment.status, Status::Failed);
    assert_eq!(
        w.receiving_gate(0, B, &call()),
        Decision::Refuse(status::RESTARTING)
    );
    w.restart_ready((0, A, false), &|| 0).expect("no bug");
    assert!(
        lines.records("RESTART").is_empty(),
        "restarted under a live frame"
    );
    assert_eq!(
        w.receiving_gate(0, B, &call()),
        Decision::Refuse(status::RESTARTING)
    );
    // The chain unwound through it: now it restarts, and takes calls again.
    w.set_state_word(B, state::DEPTH, 0);
    w.restart_ready((0, A, false), &|| 0).expect("no bug");
    assert_eq!(lines.records("RESTART").len(), 1);
    assert_eq!(w.receiving_gate(0, B, &call()), Decision::Accept(export));
    assert_eq!(w.view(B).compartment.status, Status::Ready);
    assert_eq!(w.state_word(B, state::TAGS), 0, "its state page is reset");
    let top = w.info_word(B, info::STACK_TOP);
    assert_eq!(
        w.state_word(B, state::IDLE_RSP),
        top,
        "and its gate's idle stack set"
    );
    assert_ne!(
        w.state_word(B, state::DATA_SELECTOR),
        0,
        "and its data selector"
    );
}

#[test]
fn the_running_main_is_restarted_only_once_its_run_is_over() {
    let text = "tessera-manifest 1\ncompartment a restart=on-fault\n";
    let (mut w, lines) = world(&[("manifest", manifest(text)), ("a", hello())]);
    w.fail(A, "page-fault");
    w.restart_ready((0, A, false), &|| 0).expect("no bug");
    assert!(lines.records("RESTART").is_empty());
    w.restart_ready((0, A, true), &|| 0).expect("no bug");
    assert_eq!(lines.records("RESTART").len(), 1);
    assert_eq!(w.view(A).compartment.status, Status::Ready);
}
