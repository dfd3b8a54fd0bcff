//! Scenarios of the per-compartment limits of the manifest reaching the kernel.

use tessera_scenarios::{assert_record, check_scenario, console};

#[test]
fn scenario_max_depth() {
    let outcome = check_scenario("max-depth", &[]);
    assert!(
        console(outcome, "depth-ping")
            .contains(&"depth-ping: refused at activation 3 of max_depth 2"),
        "max_depth = 2 did not refuse the third activation\n{}",
        outcome.failure_report()
    );
    for name in ["depth-ping", "depth-pong"] {
        assert_record(outcome, "EXIT", &[("compartment", name), ("code", "0")]);
    }
    assert!(
        outcome.transcript.records("FAULT").next().is_none(),
        "a refused activation stopped someone\n{}",
        outcome.failure_report()
    );
}

#[test]
fn scenario_watchdog_budget() {
    let outcome = check_scenario(
        "watchdog-budget",
        &[
            (
                "faulty-spin",
                &[("kind", "watchdog"), ("budget", "134217728")],
            ),
            (
                "fault-loop",
                &[("kind", "watchdog"), ("budget", "33554432")],
            ),
        ],
    );
    assert!(
        console(outcome, "spin-caller")
            .contains(&"spin-caller: faulty-spin.spin() -> CalleeFailed"),
        "the caller did not get CalleeFailed\n{}",
        outcome.failure_report()
    );
    assert_record(
        outcome,
        "EXIT",
        &[("compartment", "spin-caller"), ("code", "0")],
    );
}

/// `heap =` (issue 14): the small heap runs out and its compartment is stopped with
/// `kind=out-of-memory` (not a panic), naming the request and the heap; the large one is
/// allocated almost whole and its compartment exits 0. Neither image carries a heap.
#[test]
fn scenario_heap() {
    let outcome = check_scenario(
        "heap",
        &[
            (
                "heap-overflow",
                &[
                    ("kind", "out-of-memory"),
                    ("size", "1024"),
                    ("align", "1"),
                    ("heap", "8192"),
                ],
            ),
            (
                "heap-callee",
                &[("kind", "out-of-memory"), ("heap", "8192")],
            ),
        ],
    );
    assert!(
        console(outcome, "heap-overflow").contains(&"heap-overflow: 7168 bytes allocated"),
        "the 8 KiB heap did not hold its first seven blocks\n{}",
        outcome.failure_report()
    );
    assert!(
        !console(outcome, "heap-overflow")
            .iter()
            .any(|l| l.starts_with("panicked")),
        "out of memory was reported as a panic\n{}",
        outcome.failure_report()
    );
    assert_record(
        outcome,
        "EXIT",
        &[("compartment", "heap-fill"), ("code", "0")],
    );
    // Out of memory inside an export: the callee stopped, its caller answered, twice.
    assert!(
        console(outcome, "heap-caller")
            .contains(&"HEAP-CALLER small=2 large=callee-failed after=callee-failed"),
        "the caller of an export that ran out of memory was not answered CalleeFailed\n{}",
        outcome.failure_report()
    );
    assert_record(
        outcome,
        "EXIT",
        &[("compartment", "heap-caller"), ("code", "0")],
    );
    // The heap is the hypervisor's, not the image's: no image spans 64 KiB of .bss.
    for load in outcome.transcript.records("LOAD") {
        let span = load.get("span").unwrap_or_default();
        let span = u64::from_str_radix(span.trim_start_matches("0x"), 16).unwrap_or(u64::MAX);
        assert!(span < 0x10000, "an image still carries a heap: {load:?}");
    }
}

/// Scenario `watchdog-cli` (the red team; property 10): a `main` that executes CLI and
/// loops without an exit is stopped with its own budget all the same.
#[test]
fn scenario_watchdog_cli() {
    let outcome = check_scenario(
        "watchdog-cli",
        &[("attack-cli", &[("kind", "watchdog"), ("budget", "4194304")])],
    );
    assert!(
        console(outcome, "attack-cli").contains(&"attack-cli: CLI, then a loop without exits"),
        "{}",
        outcome.failure_report()
    );
}
