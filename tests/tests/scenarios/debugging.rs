//! Issue 14's debugging part on a real boot: a panic names the user's line, readable on
//! the console and exact in `@@FAULT message=`, and the runner names where a fault was.

use tessera_scenarios::{check_scenario, console};
use xtask::transcript::decode_value;

/// `file:line:` of the first line of `file` (from the workspace root) holding `needle`.
fn location_of(file: &str, needle: &str) -> String {
    let text = std::fs::read_to_string(xtask::paths::workspace_root().join(file))
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    let line = text
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{file} has no line with {needle:?}"));
    format!("{file}:{}:", line + 1)
}

#[test]
fn a_panic_the_sdk_raises_names_the_users_line() {
    let outcome = check_scenario(
        "panic-location",
        &[
            ("panic-grant-view", &[("kind", "panic")]),
            ("static-grant", &[("kind", "panic")]),
        ],
    );
    let at = location_of("compartments/panic-grant-view/src/main.rs", "victim::ping(");
    let expected = format!("panicked at {at}");
    // Readable: the compartment's own console line, nothing percent-encoded.
    let said = console(outcome, "panic-grant-view");
    let line = said
        .iter()
        .find(|l| l.starts_with("panicked at "))
        .unwrap_or_else(|| panic!("no panic line\n{}", outcome.failure_report()));
    assert!(
        line.starts_with(&expected) && line.ends_with("is alive: drop it first"),
        "the panic does not name the gate call's line {at}: {line}\n{}",
        outcome.failure_report()
    );
    // Exact: the same text in @@FAULT's message=, and the runner decoded it.
    let fault = outcome
        .faults
        .iter()
        .find(|f| f.compartment == "panic-grant-view")
        .unwrap_or_else(|| panic!("no fault\n{}", outcome.failure_report()));
    assert_eq!(fault.message.as_deref(), Some(*line));
    let record = outcome
        .transcript
        .records("FAULT")
        .next()
        .expect("a @@FAULT");
    assert_eq!(
        record.get("message").and_then(decode_value).as_deref(),
        Some(*line)
    );
    // Where: the panic handler's hypercall, in the image, named from its ELF.
    assert!(
        fault.offset.is_some() && fault.symbol.is_some(),
        "the runner named nothing: {fault:?}"
    );
}

#[test]
fn a_grant_static_copies_around_calls_and_refuses_calls_inside_a_borrow() {
    let outcome = check_scenario(
        "panic-location",
        &[
            ("panic-grant-view", &[("kind", "panic")]),
            ("static-grant", &[("kind", "panic")]),
        ],
    );
    let said = console(outcome, "static-grant");
    for step in ["STATIC-GRANT copies=ok", "STATIC-GRANT busy=ok"] {
        assert!(
            said.contains(&step),
            "static-grant did not say {step}\n{}",
            outcome.failure_report()
        );
    }
    let at = location_of(
        "compartments/static-grant/src/main.rs",
        "victim::ping(bytes",
    );
    let line = said
        .iter()
        .find(|l| l.starts_with("panicked at "))
        .unwrap_or_else(|| panic!("no panic line\n{}", outcome.failure_report()));
    assert!(
        line.starts_with(&format!("panicked at {at}")),
        "the panic does not name the call inside the borrow, {at}: {line}\n{}",
        outcome.failure_report()
    );
}
