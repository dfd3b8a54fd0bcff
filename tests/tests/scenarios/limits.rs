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
                &[("kind", "watchdog"), ("budget", "33554432")],
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
