//! SMP (issue 16): the kernel starts every CPU the MADT lists and parks it; each reports
//! `@@CPU index=K apic=ID state=online`, then, woken by an NMI with its first job from
//! the boot CPU, `state=ready`. Then each CPU runs its own vCPU (its own VMCS/VMCB,
//! watchdog and thread of control) in a world with a root of every view per vCPU: a
//! compartment sees which vCPU it runs on and how many there are, its `cpu_local!`
//! statics and its lock work, a scenario whose mains are all on vCPU 0 ends as it does
//! on one CPU, and pingpong's ping runs on every vCPU at once against one parallel pong,
//! each vCPU reporting its own round trips.

use std::collections::BTreeSet;
use tessera_scenarios::{
    assert_passed, assert_record, bochs, boot, boot_smp, boot_smp_modules, declaration, declared,
    declared_outcome_problems, qemu, records, signature,
};
use xtask::runner::BootOutcome;

/// The `(index, apic)` of every `@@CPU` line saying `state`.
fn in_state(outcome: &BootOutcome, state: &str) -> Vec<(String, String)> {
    records(outcome, "CPU")
        .into_iter()
        .filter(|r| r.get("state").map(String::as_str) == Some(state))
        .map(|r| (r["index"].clone(), r["apic"].clone()))
        .collect()
}

/// The `(index, apic)` of every `@@CPU ... state=online` line, asserting that every
/// `@@CPU` line says `online` or `ready` (no `timeout`, no `unresponsive`).
fn online(outcome: &BootOutcome) -> Vec<(String, String)> {
    for r in records(outcome, "CPU") {
        let state = r.get("state").map(String::as_str);
        assert!(matches!(state, Some("online" | "ready")), "{r:?}");
    }
    in_state(outcome, "online")
}

/// Every AP (index > 0) says `key=1`: it entered VMX root operation (`vmxon`) or enabled
/// SVM (`svme`) on its own region.
fn assert_aps_say(outcome: &BootOutcome, key: &str) {
    for r in records(outcome, "CPU") {
        if r["index"] != "0" && r.get("state").map(String::as_str) == Some("online") {
            assert_eq!(r.get(key).map(String::as_str), Some("1"), "{key}: {r:?}");
        }
    }
}

fn assert_all_online(outcome: &BootOutcome, cpus: usize) {
    assert_passed(outcome);
    let lines = online(outcome);
    let indices: Vec<&str> = lines.iter().map(|(i, _)| i.as_str()).collect();
    let want: Vec<String> = (0..cpus).map(|k| k.to_string()).collect();
    assert_eq!(indices, want, "one @@CPU line per CPU, in boot order");
    let apics: BTreeSet<&str> = lines.iter().map(|(_, a)| a.as_str()).collect();
    assert_eq!(apics.len(), cpus, "distinct APIC IDs: {lines:?}");
    // Every AP then ran its first job (an NMI woke it from HLT with interrupts off) and
    // reported from it, with the same APIC ID.
    assert_eq!(
        in_state(outcome, "ready"),
        lines[1..],
        "one state=ready per AP"
    );
}

#[test]
fn bochs_tigerlake_brings_up_two_cpus_each_in_vmx_root() {
    let outcome = boot_smp(bochs("tigerlake"), "", 2);
    assert_all_online(&outcome, 2);
    assert_aps_say(&outcome, "vmxon");
}

#[test]
fn qemu_tcg_brings_up_two_cpus_each_with_svm_on() {
    let outcome = boot_smp(qemu("qemu64,+svm,+npt"), "", 2);
    assert_all_online(&outcome, 2);
    assert_aps_say(&outcome, "svme");
}

#[test]
fn qemu_tcg_brings_up_four_cpus_and_cpus_limits_them() {
    assert_all_online(&boot_smp(qemu("qemu64,+svm,+npt"), "", 4), 4);
    assert_all_online(&boot_smp(qemu("qemu64,+svm,+npt"), "cpus=3", 4), 3);
}

#[test]
fn the_default_boot_has_one_cpu_and_still_passes() {
    let outcome = boot(qemu("qemu64,+svm,+npt"), "");
    assert_all_online(&outcome, 1);
    assert_eq!(online(&outcome), [("0".to_owned(), "0".to_owned())]);
    let outcome = boot(bochs("tigerlake"), "");
    assert_all_online(&outcome, 1);
}

/// The `percpu` scenario's line: vCPU 0 of `cpus`, its `cpu_local!` static counted three
/// borrows in the CPU-local page, its `Mutex` two increments.
fn assert_percpu(outcome: &BootOutcome, cpus: &str) {
    assert_passed(outcome);
    assert_record(
        outcome,
        "APP",
        &[
            ("compartment", "percpu"),
            ("vcpu", "0"),
            ("vcpus", cpus),
            ("local", "3"),
            ("locked", "2"),
            ("page", "1"),
        ],
    );
}

#[test]
fn bochs_tigerlake_smp2_a_compartment_sees_its_vcpu_its_cpu_local_page_and_its_lock() {
    let modules = declaration("compartments/scenarios/percpu");
    let outcome = boot_smp_modules(bochs("tigerlake"), "", 2, modules.clone());
    assert_percpu(&outcome, "2");
    // `cpus=1` limits the CPUs, and the views with them.
    let outcome = boot_smp_modules(bochs("tigerlake"), "cpus=1", 2, modules);
    assert_percpu(&outcome, "1");
}

#[test]
fn qemu_tcg_smp2_a_compartment_sees_its_vcpu_its_cpu_local_page_and_its_lock() {
    let modules = declaration("compartments/scenarios/percpu");
    assert_percpu(
        &boot_smp_modules(qemu("qemu64,+svm,+npt"), "", 2, modules),
        "2",
    );
}

#[test]
fn a_scenario_ends_the_same_with_two_vcpus_as_with_one() {
    // Its mains are all on vCPU 0 (the default placement): the same lines, each line a
    // compartment reports saying `cpu=0` on the SMP boot.
    let path = "compartments/scenarios/restart-kv";
    let modules = declaration(path);
    let one = boot_smp_modules(bochs("tigerlake"), "", 1, modules.clone());
    let two = boot_smp_modules(bochs("tigerlake"), "", 2, modules);
    for outcome in [&one, &two] {
        let problems = declared_outcome_problems(&declared(path), outcome);
        assert!(problems.is_empty(), "{path}: {problems:?}");
    }
    let on_vcpu0: BTreeSet<String> = signature(&two)
        .iter()
        .map(|l| l.replace(" cpu=0", "").replace(",\"cpu\":0", ""))
        .collect();
    assert!(
        signature(&two).iter().any(|l| l.contains(" cpu=0")),
        "an SMP boot names the vCPU: {:?}",
        signature(&two)
    );
    assert_eq!(signature(&one), on_vcpu0, "{path}");
}

/// pingpong with `cpus` vCPUs: ping's main ran on every vCPU (one `@@EXIT ... code=0`
/// and one `@@ROUNDTRIPS` line each, `cpu=K` added by L1), each of its 10,000 round
/// trips taking `per_trip` exits on that vCPU, plus any watchdog expiry that fell inside
/// its timed loop (each is printed in `@@STATS`, so the run's total bounds them).
fn assert_pingpong_on_every_vcpu(outcome: &BootOutcome, cpus: usize, per_trip: u64) {
    assert_passed(outcome);
    let watchdog: u64 = records(outcome, "STATS")
        .iter()
        .filter_map(|r| r.get("exits.watchdog"))
        .map(|v| v.parse::<u64>().expect("a count"))
        .sum();
    let ping = |word: &str| -> Vec<_> {
        records(outcome, word)
            .into_iter()
            .filter(|r| r.get("compartment").map(String::as_str) == Some("ping"))
            .collect()
    };
    let exits = ping("EXIT");
    let trips = ping("ROUNDTRIPS");
    let vcpus = |lines: &[std::collections::HashMap<String, String>]| -> BTreeSet<String> {
        lines.iter().map(|r| r["cpu"].clone()).collect()
    };
    let want: BTreeSet<String> = (0..cpus).map(|k| k.to_string()).collect();
    assert_eq!(vcpus(&exits), want, "one @@EXIT per vCPU: {exits:?}");
    assert_eq!(vcpus(&trips), want, "one @@ROUNDTRIPS per vCPU: {trips:?}");
    assert_eq!((exits.len(), trips.len()), (cpus, cpus));
    assert!(exits.iter().all(|r| r["code"] == "0"), "{exits:?}");
    let least = per_trip * 10_000;
    for r in &trips {
        assert_eq!(r["n"], "10000");
        let e: u64 = r["exits"].parse().expect("a count");
        assert!(
            (least..=least + watchdog).contains(&e),
            "vCPU {}: {e} exits for 10000 round trips, expected {least} plus at most the \
             run's {watchdog} watchdog exit(s)\n{}",
            r["cpu"],
            outcome.failure_report()
        );
    }
    // One pong served them all: every call of every vCPU reached it.
    let total = (cpus as u64 * 10_100).to_string();
    assert_record(
        outcome,
        "STATS",
        &[("compartment", "pong"), ("calls_in", &total)],
    );
}

#[test]
fn bochs_tigerlake_pingpong_runs_on_every_vcpu_at_once_with_no_exit() {
    let modules = declaration("examples/pingpong");
    for cpus in [2, 4] {
        let outcome = boot_smp_modules(bochs("tigerlake"), "", cpus, modules.clone());
        assert_record(&outcome, "SWITCH", &[("mode", "hardware")]);
        assert_pingpong_on_every_vcpu(&outcome, cpus as usize, 0);
    }
}

#[test]
fn qemu_tcg_pingpong_runs_on_every_vcpu_at_once() {
    let modules = declaration("examples/pingpong");
    for cpus in [2, 4] {
        let outcome = boot_smp_modules(qemu("qemu64,+svm,+npt"), "", cpus, modules.clone());
        // SVM has no VMFUNC: each switch is emulated, one exit each, on the caller's vCPU.
        assert_record(&outcome, "SWITCH", &[("mode", "emulated")]);
        assert_pingpong_on_every_vcpu(&outcome, cpus as usize, 2);
    }
}
