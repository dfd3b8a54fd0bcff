//! Compartments on the VMX backend (Bochs tigerlake): hello runs and exits 0; every
//! fault compartment is stopped with the right `@@FAULT` line while the hypervisor goes
//! on to the next one; malformed modules are rejected with an error naming them.

use std::fs;
use tessera_scenarios::{assert_passed, assert_record, bochs, boot_modules, compartment, records};
use xtask::image::Module;

#[test]
fn hello_prints_and_exits_zero() {
    let outcome = boot_modules(bochs("tigerlake"), "", vec![compartment("hello")]);
    assert_record(&outcome, "EXIT", &[("compartment", "hello"), ("code", "0")]);
    assert!(
        outcome
            .transcript
            .lines
            .iter()
            .any(|l| l.trim_end() == "[hello] Hello from compartment hello!"),
        "greeting missing\n{}",
        outcome.failure_report()
    );
    assert_record(
        &outcome,
        "STATS",
        &[("compartment", "hello"), ("faults", "0")],
    );
    assert_passed(&outcome);
}

/// (package, @@FAULT kind, more fields the @@FAULT line must have).
type FaultCase = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);
const FAULTS: &[FaultCase] = &[
    (
        "fault-divzero",
        "exception",
        &[("vector", "0"), ("name", "divide-error")],
    ),
    (
        "fault-write-code",
        "memory",
        &[("access", "write"), ("allowed", "r-x")],
    ),
    (
        "fault-read-outside",
        "memory",
        &[("gpa", "0x1000"), ("access", "read"), ("allowed", "---")],
    ),
    ("fault-loop", "watchdog", &[]),
    (
        "fault-cr3",
        "privileged",
        &[("action", "cr-write"), ("cr", "3")],
    ),
    (
        "fault-wrmsr",
        "privileged",
        &[("action", "wrmsr"), ("msr", "0xc0000080")],
    ),
    ("fault-panic", "panic", &[]),
];

#[test]
fn every_fault_is_contained_and_reported() {
    let modules: Vec<Module> = FAULTS
        .iter()
        .map(|(package, kind, _)| compartment(package).with_args(format!("expect=fault:{kind}")))
        .collect();
    // A well-behaved compartment after all the faulty ones still runs: nothing leaked.
    let mut modules = modules;
    modules.push(compartment("hello"));
    // Mains are not bounded unless asked for: fault-loop's spin needs a boot-wide budget.
    let outcome = boot_modules(bochs("tigerlake"), "watchdog=67108864", modules);
    for (package, kind, fields) in FAULTS {
        let mut want = vec![("compartment", *package), ("kind", *kind)];
        want.extend_from_slice(fields);
        assert_record(&outcome, "FAULT", &want);
        assert_record(
            &outcome,
            "STATS",
            &[("compartment", package), ("faults", "1")],
        );
    }
    let panic = records(&outcome, "FAULT")
        .into_iter()
        .find(|r| r.get("compartment").map(String::as_str) == Some("fault-panic"))
        .and_then(|r| r.get("message").cloned())
        .unwrap_or_default();
    assert!(
        panic.contains("fault-panic:%20deliberate"),
        "panic message not reported: {panic:?}"
    );
    // Each fault compartment printed that it started and never that it got through.
    let lines = &outcome.transcript.lines;
    assert!(
        !lines.iter().any(|l| l.contains("not contained")),
        "an attack was not contained\n{}",
        outcome.failure_report()
    );
    assert_record(&outcome, "EXIT", &[("compartment", "hello"), ("code", "0")]);
    assert_passed(&outcome);
}

#[test]
fn malformed_modules_are_rejected_by_name() {
    let hello = compartment("hello");
    let bytes = fs::read(&hello.path).expect("read hello image");
    let dir = xtask::paths::tessera_dir().join("bad-modules");
    fs::create_dir_all(&dir).expect("create bad-modules dir");
    let garbage: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let truncated = bytes[..bytes.len().min(1000)].to_vec();
    let mut no_note = bytes.clone();
    let at = no_note
        .windows(7)
        .position(|w| w == b"HERMIT\0")
        .expect("hello carries the hermit entry-version note");
    no_note[at] = b'X';
    let mut modules = Vec::new();
    for (name, content) in [
        ("garbage", garbage),
        ("truncated", truncated),
        ("no-note", no_note),
    ] {
        let path = dir.join(format!("{name}.elf"));
        fs::write(&path, content).expect("write bad module");
        modules.push(Module::new(path, name).with_args("expect=reject"));
    }
    modules.push(hello);
    let outcome = boot_modules(bochs("tigerlake"), "", modules);
    for name in ["garbage", "truncated", "no-note"] {
        let message = records(&outcome, "REJECT")
            .into_iter()
            .find(|r| r.get("module").map(String::as_str) == Some(name))
            .and_then(|r| r.get("message").cloned())
            .unwrap_or_else(|| panic!("{name} not rejected\n{}", outcome.failure_report()));
        assert!(
            message.contains(&format!("module%20'{name}'")),
            "the error for {name} does not name it: {message}"
        );
    }
    assert_record(&outcome, "EXIT", &[("compartment", "hello"), ("code", "0")]);
    assert_passed(&outcome);
}
