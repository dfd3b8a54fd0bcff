//! SMP proof scenarios (issue 16, item 5): the declarations in `compartments/smp/`, each
//! booted with two and with four vCPUs (the other two idle: no main is placed there) on
//! Bochs `tigerlake` (hardware VMFUNC) and on QEMU TCG with SVM (the switch emulated),
//! about 20 s per Bochs boot, under a second per QEMU one. They are not in
//! `compartments/scenarios/`, so the one-CPU sweeps (`everywhere.rs`, `nested.rs`) never
//! boot them: their mains name `cpu = 1`, which a one-CPU boot rejects.
//!
//! - `stop-restart`: a compartment stopped for its own fault on vCPU 1 while vCPU 0 is
//!   inside it: unwound on vCPU 0 at the stop barrier's kick (not at the next watchdog-period exit), both
//!   callers answered `CalleeFailed`, restarted once neither vCPU has a frame of it, and
//!   answering both again from its new life.
//! - `stop-waiting`: the same stop while vCPU 0 waits in the victim without executing
//!   it (waiter → victim → deep, deep running): vCPU 0 goes on in deep, the victim is
//!   not restarted while vCPU 0 has a frame of it, and deep's return into the stopped
//!   victim unwinds the waiter's call there; then the restart.
//! - `busy`: a serial compartment held on vCPU 0 answers `Busy` to vCPU 1 until it is
//!   released, then serves it; a parallel one serves both vCPUs at the same moment.
//! - `attack`: attacks on vCPU 1 while vCPU 0 is inside the victim stop the attackers
//!   alone; the victim and vCPU 0's thread carry on as if nothing happened.
//!
//! Every assertion is on `@@` lines: the hypervisor's (`@@FAULT`, `@@UNWIND`,
//! `@@RESTART`, `@@ABORT`, `@@EXIT`) and the compartments' own `@@APP` lines, to which L1
//! adds the vCPU (`cpu=K`) on an SMP boot.

use std::collections::HashMap;
use tessera_scenarios::{
    assert_passed, assert_record, bochs, boot_smp_modules, declaration, declared,
    declared_outcome_problems, line_index, qemu, records,
};
use xtask::declaration::Cpu;
use xtask::runner::BootOutcome;

const STOP_RESTART: &str = "compartments/smp/stop-restart";
const STOP_WAITING: &str = "compartments/smp/stop-waiting";
const BUSY: &str = "compartments/smp/busy";
const ATTACK: &str = "compartments/smp/attack";

fn on_bochs(path: &str, cpus: u32) -> BootOutcome {
    boot_smp_modules(bochs("tigerlake"), "", cpus, declaration(path))
}

fn on_qemu(path: &str, cpus: u32) -> BootOutcome {
    boot_smp_modules(qemu("qemu64,+svm,+npt"), "", cpus, declaration(path))
}

/// `@@RESULT pass`, and every compartment ended as its `expect` says.
fn assert_as_declared(path: &str, outcome: &BootOutcome) {
    assert_passed(outcome);
    let problems = declared_outcome_problems(&declared(path), outcome);
    assert!(
        problems.is_empty(),
        "{problems:?}\n{}",
        outcome.failure_report()
    );
}

/// The `@@WORD` lines of a boot, each as its pairs.
fn lines(outcome: &BootOutcome, word: &str) -> Vec<HashMap<String, String>> {
    records(outcome, word)
}

/// The `@@APP` line of compartment `name`, which must say `cpu` and every field.
fn assert_app(outcome: &BootOutcome, name: &str, cpu: &str, fields: &[(&str, &str)]) {
    let mut all = vec![("compartment", name), ("cpu", cpu)];
    all.extend_from_slice(fields);
    assert_record(outcome, "APP", &all);
}

/// Where the first line starting with `@@WORD` and holding every `key=value` is.
fn at(outcome: &BootOutcome, word: &str, pairs: &[&str]) -> usize {
    let start = format!("@@{word} ");
    line_index(outcome, |l| {
        l.starts_with(&start) && pairs.iter().all(|p| l.split(' ').any(|w| w == *p))
    })
    .unwrap_or_else(|| {
        panic!(
            "no {start}line with {pairs:?}\n{}",
            outcome.failure_report()
        )
    })
}

/// `stop-restart`: the victim faulted once, on the stopper's vCPU, for its own
/// instruction (not its watchdog); both callers got `CalleeFailed`, the waiter through an unwind on its own
/// thread; the victim was restarted once, only after both unwinds, and both mains were
/// answered by its new life.
fn assert_stop_restart(outcome: &BootOutcome) {
    assert_as_declared(STOP_RESTART, outcome);
    // Every budget is 2^28 ticks, and so is the watchdog's period (see below).
    assert_record(outcome, "WATCHDOG", &[("period", "268435456")]);
    let faults = lines(outcome, "FAULT");
    assert_eq!(faults.len(), 1, "{faults:?}\n{}", outcome.failure_report());
    let fault = &faults[0];
    assert_eq!(fault["compartment"], "victim", "{fault:?}");
    assert_eq!(fault["kind"], "exception", "not the watchdog: {fault:?}");
    // (A missing kick would not show here: vCPU 0 would unwind the victim at its next
    // exit, the end of a watchdog period, before any watchdog stop. The callers check
    // the victim's exits for that.)
    assert_eq!(fault["name"], "invalid-opcode", "its own ud2: {fault:?}");
    // The waiter's call was unwound once, on its own vCPU; the stopper's crash() too.
    // The stopper may see more: a call of its polls that L1 catches at an exit inside the
    // stopped victim's gate (before the restart) is unwound like the crash, answering
    // CalleeFailed instead of the gate's Restarting; nobody else is ever resumed.
    let unwinds = lines(outcome, "UNWIND");
    let resumed = |name: &str| unwinds.iter().filter(|r| r["resumed"] == name).count();
    assert_eq!(resumed("waiter"), 1, "{}", outcome.failure_report());
    assert!(resumed("stopper") >= 1, "{}", outcome.failure_report());
    assert_eq!(
        resumed("waiter") + resumed("stopper"),
        unwinds.len(),
        "{unwinds:?}"
    );
    let restarts = lines(outcome, "RESTART");
    assert_eq!(restarts.len(), 1, "{restarts:?}");
    assert_eq!(
        (
            restarts[0]["compartment"].as_str(),
            restarts[0]["count"].as_str()
        ),
        ("victim", "1")
    );
    assert_eq!(restarts[0]["reason"], "exception");
    // The restart waited until neither vCPU had a frame of the victim.
    let fault_at = at(outcome, "FAULT", &["compartment=victim"]);
    let restart_at = at(outcome, "RESTART", &["compartment=victim"]);
    for name in ["stopper", "waiter"] {
        let unwind_at = at(outcome, "UNWIND", &[&format!("resumed={name}")]);
        assert!(
            fault_at < unwind_at && unwind_at < restart_at,
            "fault, unwind of {name}, restart: lines {fault_at}, {unwind_at}, {restart_at}"
        );
    }
    assert_app(
        outcome,
        "stopper",
        "1",
        &[
            ("seen", "1"),
            ("crash", "callee-failed"),
            ("after", "ok"),
            ("inside", "0"),
            ("lives", "1"),
        ],
    );
    assert_app(
        outcome,
        "waiter",
        "0",
        &[
            ("spin", "callee-failed"),
            ("after", "ok"),
            ("inside", "0"),
            ("lives", "1"),
        ],
    );
    assert!(lines(outcome, "ABORT").is_empty(), "nobody aborted");
    assert_record(
        outcome,
        "STATS",
        &[
            ("compartment", "victim"),
            ("faults", "1"),
            ("restarts", "1"),
        ],
    );
}

/// `stop-waiting`: the victim faulted once, on vCPU 1; deep, running on vCPU 0 for a
/// call through the victim, was neither stopped nor unwound (it still answered
/// `inside() = 1` after the stop, and returned when released); the victim was not
/// restarted while vCPU 0 had a frame of it (`lives()` refused then), and the waiter's
/// call was unwound on vCPU 0 once deep returned into the stopped victim, before the
/// restart; both mains answered by the new life.
fn assert_stop_waiting(outcome: &BootOutcome) {
    assert_as_declared(STOP_WAITING, outcome);
    let faults = lines(outcome, "FAULT");
    assert_eq!(faults.len(), 1, "{faults:?}\n{}", outcome.failure_report());
    assert_eq!(
        (
            faults[0]["compartment"].as_str(),
            faults[0]["kind"].as_str()
        ),
        ("victim", "exception"),
        "{faults:?}"
    );
    let unwinds = lines(outcome, "UNWIND");
    let resumed = |name: &str| unwinds.iter().filter(|r| r["resumed"] == name).count();
    assert_eq!(resumed("waiter"), 1, "{}", outcome.failure_report());
    assert!(resumed("unblocker") >= 1, "{}", outcome.failure_report());
    assert_eq!(
        resumed("waiter") + resumed("unblocker"),
        unwinds.len(),
        "deep never resumed or unwound: {unwinds:?}"
    );
    let restarts = lines(outcome, "RESTART");
    assert_eq!(restarts.len(), 1, "{restarts:?}");
    assert_eq!(
        (
            restarts[0]["compartment"].as_str(),
            restarts[0]["count"].as_str()
        ),
        ("victim", "1")
    );
    let unwound = at(outcome, "UNWIND", &["resumed=waiter"]);
    let restart = at(outcome, "RESTART", &["compartment=victim"]);
    assert!(
        unwound < restart,
        "unwind at {unwound}, restart at {restart}"
    );
    assert_app(
        outcome,
        "unblocker",
        "1",
        &[
            ("seen", "1"),
            ("crash", "callee-failed"),
            ("deep", "1"),
            ("release", "ok"),
            ("after", "ok"),
            ("lives", "1"),
        ],
    );
    // While vCPU 0 waited in the stopped victim, a call into it was refused (its gate
    // says Restarting; CalleeFailed if L1 catches the refusal inside the gate).
    let app = lines(outcome, "APP");
    let unblocker = app
        .iter()
        .find(|r| r["compartment"] == "unblocker")
        .expect("the unblocker's @@APP");
    assert!(
        matches!(unblocker["during"].as_str(), "restarting" | "callee-failed"),
        "not restarted while vCPU 0 waits in it: {unblocker:?}"
    );
    assert_app(
        outcome,
        "waiter",
        "0",
        &[
            ("spin", "callee-failed"),
            ("after", "ok"),
            ("inside", "0"),
            ("lives", "1"),
        ],
    );
    assert_record(
        outcome,
        "STATS",
        &[("compartment", "deep"), ("faults", "0"), ("restarts", "0")],
    );
}

/// `busy`: both mains met inside the parallel board at once; the contender was refused
/// `Busy` twice while the keeper was held on vCPU 0, and served once it was released;
/// nobody was stopped or unwound.
fn assert_busy(outcome: &BootOutcome) {
    assert_as_declared(BUSY, outcome);
    for word in ["FAULT", "UNWIND", "ABORT", "RESTART"] {
        assert!(
            lines(outcome, word).is_empty(),
            "no @@{word}\n{}",
            outcome.failure_report()
        );
    }
    assert_app(
        outcome,
        "holder",
        "0",
        &[("met", "2"), ("hold", "ok"), ("released", "1")],
    );
    assert_app(
        outcome,
        "contender",
        "1",
        &[
            ("met", "2"),
            ("held", "1"),
            ("first", "busy"),
            ("second", "busy"),
            ("done", "1"),
            ("served", "ok"),
            ("answer", "9"),
        ],
    );
}

/// `attack`: the attackers on vCPU 1 alone stopped (one fault, one abort), while vCPU 0
/// was inside the victim; no fault of the victim, no unwind anywhere; the victim still
/// occupied after the attacks, and the waiter's call returned normally once released.
fn assert_attack(outcome: &BootOutcome) {
    assert_as_declared(ATTACK, outcome);
    let faults = lines(outcome, "FAULT");
    assert_eq!(faults.len(), 1, "{faults:?}\n{}", outcome.failure_report());
    assert_record(
        outcome,
        "FAULT",
        &[
            ("compartment", "attack-read-victim"),
            ("kind", "memory"),
            ("gpa", "0x1000000"),
            ("access", "read"),
        ],
    );
    let aborts = lines(outcome, "ABORT");
    assert_eq!(aborts.len(), 1, "{aborts:?}");
    assert_eq!(aborts[0]["compartment"], "attack-forged-return");
    assert!(
        lines(outcome, "UNWIND").is_empty(),
        "no thread unwound\n{}",
        outcome.failure_report()
    );
    assert!(
        !outcome
            .transcript
            .lines
            .iter()
            .any(|l| l.contains("not contained")),
        "{}",
        outcome.failure_report()
    );
    assert_app(outcome, "lookout", "1", &[("seen", "1")]);
    assert_app(
        outcome,
        "releaser",
        "1",
        &[("inside", "1"), ("release", "ok")],
    );
    assert_app(outcome, "waiter", "0", &[("spin", "ok"), ("after", "none")]);
    // Both attacks came while vCPU 0 was inside the victim: after the lookout saw it
    // there, before the releaser let it go.
    let seen = at(outcome, "APP", &["compartment=lookout"]);
    let released = at(outcome, "APP", &["compartment=releaser"]);
    let fault = at(outcome, "FAULT", &["compartment=attack-read-victim"]);
    let abort = at(outcome, "ABORT", &["compartment=attack-forged-return"]);
    assert!(
        seen < fault && fault < abort && abort < released,
        "lookout {seen}, fault {fault}, abort {abort}, releaser {released}"
    );
}

/// The victim's `@@STATS` pairs.
fn victim_stats(outcome: &BootOutcome) -> HashMap<String, String> {
    lines(outcome, "STATS")
        .into_iter()
        .find(|r| r["compartment"] == "victim")
        .expect("the victim's @@STATS")
}

#[test]
fn bochs_tigerlake_a_victim_stopped_from_another_vcpu_is_unwound_and_restarted() {
    for cpus in [2, 4] {
        bochs_stop_restart(cpus);
    }
}

fn bochs_stop_restart(cpus: u32) {
    let outcome = on_bochs(STOP_RESTART, cpus);
    assert_stop_restart(&outcome);
    // vCPU 0 left the victim at the kick: VMX's exit for an NMI is `exits.exception`
    // (or `exits.kick` if it came while vCPU 0 was in L1), never a watchdog-period exit,
    // of which a run this short has none on Bochs (ticks = instructions). Without the
    // kick, vCPU 0 would still unwind the victim, at the end of the period, and this
    // would say `exits.watchdog=1` (checked by disabling the kick).
    let victim = victim_stats(&outcome);
    assert_eq!(
        victim.get("exits.watchdog"),
        None,
        "vCPU 0 waited for a period's end, not a kick: {victim:?}"
    );
}

#[test]
fn qemu_tcg_a_victim_stopped_from_another_vcpu_is_unwound_and_restarted() {
    for cpus in [2, 4] {
        let outcome = on_qemu(STOP_RESTART, cpus);
        assert_stop_restart(&outcome);
        // The kick reached vCPU 0 in the victim: SVM exits for the NMI as
        // `exits.interrupt` (its watchdog timer is `exits.watchdog`), or `exits.kick`
        // if the NMI came while vCPU 0 was in L1. Without the kick the victim has
        // neither (checked by disabling it). QEMU's TSC runs with the host's clock, so
        // whether a period ends in the run is not asserted here.
        let victim = victim_stats(&outcome);
        assert!(
            victim.contains_key("exits.interrupt") || victim.contains_key("exits.kick"),
            "no kick exit in the victim: {victim:?}"
        );
    }
}

#[test]
fn bochs_tigerlake_a_victim_stopped_while_another_vcpu_waits_in_it_restarts_after_it_unwinds() {
    for cpus in [2, 4] {
        assert_stop_waiting(&on_bochs(STOP_WAITING, cpus));
    }
}

#[test]
fn qemu_tcg_a_victim_stopped_while_another_vcpu_waits_in_it_restarts_after_it_unwinds() {
    for cpus in [2, 4] {
        assert_stop_waiting(&on_qemu(STOP_WAITING, cpus));
    }
}

#[test]
fn bochs_tigerlake_a_serial_callee_is_busy_across_vcpus_a_parallel_one_is_not() {
    for cpus in [2, 4] {
        assert_busy(&on_bochs(BUSY, cpus));
    }
}

#[test]
fn qemu_tcg_a_serial_callee_is_busy_across_vcpus_a_parallel_one_is_not() {
    for cpus in [2, 4] {
        assert_busy(&on_qemu(BUSY, cpus));
    }
}

#[test]
fn bochs_tigerlake_an_attack_on_one_vcpu_stops_only_the_attacker() {
    for cpus in [2, 4] {
        assert_attack(&on_bochs(ATTACK, cpus));
    }
}

#[test]
fn qemu_tcg_an_attack_on_one_vcpu_stops_only_the_attacker() {
    for cpus in [2, 4] {
        assert_attack(&on_qemu(ATTACK, cpus));
    }
}

#[test]
fn the_smp_scenarios_stay_out_of_the_one_cpu_sweep() {
    let swept = tessera_scenarios::declarations();
    for path in [STOP_RESTART, STOP_WAITING, BUSY, ATTACK] {
        assert!(!swept.iter().any(|p| p == path), "{path} in {swept:?}");
        // Each places a main on vCPU 1: a one-CPU boot would reject it.
        assert!(
            declared(path)
                .compartments
                .iter()
                .any(|c| matches!(c.cpu, Some(Cpu::Index(k)) if k >= 1)),
            "{path}"
        );
    }
}
