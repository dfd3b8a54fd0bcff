//! Manifest `concurrency` and `cpu` on the fake machine (docs/gates.md "Manifest:
//! `concurrency` and `cpu`"): the info words `CONCURRENCY`, `CLAIM_BELOW` and `MAIN` in
//! every (view, vCPU) copy; a compartment placed on a vCPU the world does not have is
//! rejected alone (`problem=cpu`) and its gate refuses calls; L1's side of the serial
//! `OWNER` word (`World::claim_owner`, `release_owner`, `is_serial`), and a restart
//! clearing it.

mod common;

use common::{MEMORY, hello, manifest, pong};
use tessera_abi::gate::{info, op, shared, state, status};
use tessera_core::outcome::Outcome;
use tessera_core::paging::Ept;
use tessera_core::protocol::{Decision, Message};
use tessera_engine::fake::{self, FakeMemory, Lines};
use tessera_engine::ids::ViewId;
use tessera_engine::port::Memory as _;
use tessera_engine::world::{Status, World};

type FakeWorld = World<Ept, FakeMemory>;

const A: ViewId = ViewId(0);
const B: ViewId = ViewId(1);
const C: ViewId = ViewId(2);

/// a (serial, main on vCPU 1) calls b (parallel) and c (serial, restartable, on vCPU 0).
fn app(cpus: usize, a_cpu: u32) -> (FakeWorld, Lines) {
    let text = format!(
        "tessera-manifest 1\ncompartment a calls=b,c cpu={a_cpu}\n\
         compartment b exports=pong concurrency=parallel\n\
         compartment c exports=pong restart=on-fault\n"
    );
    let text: &'static str = Box::leak(text.into_boxed_str());
    let modules = [
        ("manifest", manifest(text)),
        ("a", hello()),
        ("b", pong()),
        ("c", pong()),
    ];
    fake::world_smp(&modules, 4 * MEMORY, cpus).expect("provisioned")
}

/// A CALL from a to export 0.
fn call() -> Message {
    Message {
        source: 0,
        op: op::CALL,
        word: 0,
        at: 0,
    }
}

#[test]
fn every_copy_of_the_info_page_says_concurrency_and_where_the_main_runs() {
    for cpus in [1, 2, 4] {
        let (w, lines) = app(cpus, 1.min(cpus as u32 - 1));
        assert!(lines.records("REJECT").is_empty(), "{:?}", lines.all());
        let a_cpu = 1.min(cpus - 1);
        for cpu in 0..cpus {
            let word = |v, o| w.info_word_on(cpu, v, o);
            assert_eq!(word(A, info::CONCURRENCY), info::SERIAL);
            assert_eq!(word(B, info::CONCURRENCY), info::PARALLEL);
            assert_eq!(word(C, info::CONCURRENCY), info::SERIAL);
            assert_eq!(word(A, info::CLAIM_BELOW), 2);
            assert_eq!(word(B, info::CLAIM_BELOW), 0);
            assert_eq!(word(C, info::CLAIM_BELOW), 2);
            assert_eq!(word(A, info::MAIN), u64::from(cpu == a_cpu), "cpu {cpu}");
            assert_eq!(word(B, info::MAIN), u64::from(cpu == 0), "cpu {cpu}");
            assert_eq!(word(C, info::MAIN), u64::from(cpu == 0), "cpu {cpu}");
            // The words below them are where they were.
            assert_eq!(word(A, info::CPU), cpu as u64);
            assert_eq!(word(A, info::CPUS), cpus as u64);
        }
        assert!(w.is_serial(A) && !w.is_serial(B) && w.is_serial(C));
    }
}

#[test]
fn a_main_placed_on_a_vcpu_the_world_lacks_is_rejected_alone_and_refuses_calls() {
    let text = "tessera-manifest 1\ncompartment a calls=b\n\
                compartment b exports=pong cpu=2\n";
    let modules = [("manifest", manifest(text)), ("a", hello()), ("b", pong())];
    for cpus in [1, 2] {
        let (w, lines) = fake::world_smp(&modules, 2 * MEMORY, cpus).expect("provisioned");
        let rejects = lines.records("REJECT");
        assert_eq!(rejects.len(), 1, "{rejects:?}");
        let want = format!("@@REJECT module=b problem=cpu cpu=2 cpus={cpus} message=");
        assert!(rejects[0].starts_with(&want), "{rejects:?}");
        assert_eq!(w.view(A).compartment.status, Status::Ready);
        assert_eq!(w.view(B).compartment.status, Status::Rejected);
        assert_eq!(
            w.view(B).compartment.outcome,
            Some(Outcome::Rejected("cpu"))
        );
        for cpu in 0..cpus {
            assert_eq!(
                w.receiving_gate(cpu, B, &call()),
                Decision::Refuse(status::CALLEE_FAILED)
            );
            // It has no main anywhere.
            assert_eq!(w.info_word_on(cpu, B, info::MAIN), 0);
        }
        let loads = lines.records("LOAD");
        assert_eq!(loads.len(), 1, "{loads:?}");
    }
    // With three vCPUs it is placed, and loaded.
    let (w, lines) = fake::world_smp(&modules, 2 * MEMORY, 3).expect("provisioned");
    assert!(lines.records("REJECT").is_empty(), "{:?}", lines.all());
    assert_eq!(w.view(B).compartment.status, Status::Ready);
    assert_eq!(w.info_word_on(2, B, info::MAIN), 1);
}

#[test]
fn l1_claims_and_releases_a_serial_owner_only_for_its_own_vcpu() {
    let (mut w, _) = app(4, 1);
    assert_eq!(w.owner(A), 0);
    assert!(w.claim_owner(A, 1), "free: vCPU 1 takes it");
    assert_eq!(w.owner(A), 2);
    assert!(w.claim_owner(A, 1), "already vCPU 1's");
    assert!(!w.claim_owner(A, 0), "vCPU 1 owns it");
    assert!(!w.claim_owner(A, 3), "vCPU 1 owns it");
    assert_eq!(w.owner(A), 2);
    w.release_owner(A, 0);
    w.release_owner(A, 3);
    assert_eq!(w.owner(A), 2, "only the owner releases");
    w.release_owner(A, 1);
    assert_eq!(w.owner(A), 0);
    w.release_owner(A, 1);
    assert_eq!(w.owner(A), 0, "releasing twice changes nothing");
    assert!(w.claim_owner(A, 3));
    assert_eq!(w.owner(A), 4);
    // What the gate (or the view itself) left there counts the same.
    let word = w.view(A).pages.shared.start() + shared::OWNER;
    w.mem.write_u64(word, 7);
    assert!(!w.claim_owner(A, 1));
    w.release_owner(A, 1);
    assert_eq!(w.owner(A), 7);
}

#[test]
fn a_parallel_view_has_no_owner() {
    let (mut w, _) = app(2, 1);
    for cpu in 0..2 {
        assert!(w.claim_owner(B, cpu));
    }
    assert_eq!(w.owner(B), 0, "nothing written");
    let word = w.view(B).pages.shared.start() + shared::OWNER;
    w.mem.write_u64(word, 2);
    w.release_owner(B, 1);
    assert_eq!(w.owner(B), 2, "its word is the view's own: left alone");
    assert!(w.claim_owner(B, 0));
}

#[test]
fn a_restart_clears_the_owner() {
    let (mut w, _) = app(2, 1);
    assert!(w.claim_owner(C, 1));
    assert_eq!(w.owner(C), 2);
    w.fail(C, "page-fault");
    assert_eq!(w.info_word_on(1, C, info::FAILED), status::RESTARTING);
    // No frame of c on any vCPU: it restarts at once, and nobody owns it any more.
    for cpu in 0..2 {
        assert_eq!(w.state_word_on(cpu, C, state::DEPTH), 0);
    }
    w.restart_ready((0, A, false), &|| 0)
        .expect("restart_ready");
    assert!(w.view(C).lifecycle.pending.is_none(), "restarted");
    assert_eq!(w.owner(C), 0);
    assert!(w.claim_owner(C, 0));
    // The placement words are the manifest's: a restart keeps them.
    for cpu in 0..2 {
        assert_eq!(w.info_word_on(cpu, C, info::CONCURRENCY), info::SERIAL);
        assert_eq!(w.info_word_on(cpu, C, info::CLAIM_BELOW), 2);
        assert_eq!(w.info_word_on(cpu, C, info::MAIN), u64::from(cpu == 0));
    }
}
