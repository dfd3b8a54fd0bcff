//! Typed interfaces with data across the gate (`tessera_sdk::interface!`, docs/gates.md
//! "Call buffers"): examples/kvstore's frontend runs 20 scripted text commands through
//! the parser and the store compartments and reports each answer as an `@@APP` line.
//! Strings, enums, a struct and `Result`s with the callee's own error type cross both
//! edges' call buffers, on Bochs tigerlake (VMX, hardware VMFUNC) and QEMU (SVM,
//! emulated switching): the same answers, no fault, no call error.

use tessera_scenarios::{
    assert_passed, assert_record, bochs, boot_modules, boot_once, declaration, qemu, records,
};
use xtask::runner::BootOutcome;

const KVSTORE: &str = "examples/kvstore";

/// The answers the script must get, step by step, as `@@APP` key=value pairs after
/// `compartment=frontend step=N`.
const ANSWERS: [&[(&str, &str)]; 20] = [
    &[("ok", "stored"), ("value", "none")],
    &[("ok", "stored"), ("value", "none")],
    &[("ok", "value"), ("value", "red")],
    &[("store", "error"), ("error", "NotFound")],
    &[("ok", "stored"), ("value", "red")],
    &[("ok", "value"), ("value", "green")],
    &[("ok", "stats"), ("value", "keys:2,bytes:33")],
    &[("ok", "value"), ("value", "yellow_and_curved")],
    &[("store", "error"), ("error", "NotFound")],
    &[("parse", "error"), ("error", "UnknownVerb")],
    &[("parse", "error"), ("error", "MissingValue")],
    &[("parse", "error"), ("error", "Empty")],
    &[("parse", "error"), ("error", "TrailingWords")],
    &[("store", "error"), ("error", "KeyTooLong")],
    &[("ok", "stored"), ("value", "none")],
    &[("ok", "stored"), ("value", "none")],
    &[("ok", "value"), ("value", "brown")],
    &[("store", "error"), ("error", "NotFound")],
    &[("ok", "value"), ("value", "dark_red")],
    &[("ok", "stats"), ("value", "keys:2,bytes:24")],
];

fn check(outcome: &BootOutcome) {
    let report = || outcome.failure_report();
    let apps: Vec<_> = records(outcome, "APP")
        .into_iter()
        .filter(|r| r.get("compartment").map(String::as_str) == Some("frontend"))
        .collect();
    for (step, answer) in ANSWERS.iter().enumerate() {
        let step_text = step.to_string();
        let line = apps
            .iter()
            .find(|r| r.get("step") == Some(&step_text))
            .unwrap_or_else(|| panic!("no @@APP step={step}\n{}", report()));
        for (key, value) in *answer {
            assert_eq!(
                line.get(*key).map(String::as_str),
                Some(*value),
                "step {step}: {line:?}\n{}",
                report()
            );
        }
    }
    assert_record(
        outcome,
        "APP",
        &[
            ("compartment", "frontend"),
            ("summary", "done"),
            ("apple", "green"),
            ("keys", "2"),
            ("puts", "5"),
            ("gets", "6"),
            ("misses", "2"),
            ("call_errors", "0"),
        ],
    );
    // 20 parses; 18 commands that parsed, then get and stats: 38 calls out.
    assert_record(
        outcome,
        "STATS",
        &[
            ("compartment", "parser"),
            ("calls_in", "20"),
            ("faults", "0"),
        ],
    );
    assert_record(
        outcome,
        "STATS",
        &[
            ("compartment", "store"),
            ("calls_in", "18"),
            ("faults", "0"),
        ],
    );
    assert_record(
        outcome,
        "STATS",
        &[
            ("compartment", "frontend"),
            ("calls_out", "38"),
            ("faults", "0"),
        ],
    );
    assert!(records(outcome, "FAULT").is_empty(), "{}", report());
    assert_passed(outcome);
}

#[test]
fn kvstore_passes_strings_structs_and_results_on_bochs_tigerlake() {
    let outcome = boot_once("kvstore-bochs", || {
        boot_modules(bochs("tigerlake"), "", declaration(KVSTORE))
    });
    assert_record(outcome, "SWITCH", &[("mode", "hardware")]);
    check(outcome);
}

#[test]
fn kvstore_passes_strings_structs_and_results_on_qemu_svm() {
    let outcome = boot_once("kvstore-qemu", || {
        boot_modules(qemu("qemu64,+svm,+npt"), "", declaration(KVSTORE))
    });
    assert_record(outcome, "SWITCH", &[("mode", "emulated")]);
    check(outcome);
}
