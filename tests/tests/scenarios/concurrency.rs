//! Issue 16's serial rule at the gate, on one vCPU (docs/gates.md "Manifest:
//! `concurrency` and `cpu`"): the `serial-busy` scenario.

use tessera_scenarios::{assert_record, check_scenario, console, records};

/// A serial compartment whose OWNER word names another vCPU refuses a call with BUSY and
/// runs nothing (its `@@STATS` counts no call in); a parallel one with the same word
/// answers; a serial one idle on this vCPU is claimed for vCPU 0 (OWNER = 1) while the
/// call runs and released when it returns, even after its export wrote the word.
#[test]
fn scenario_serial_busy() {
    let outcome = check_scenario("serial-busy", &[]);
    assert_record(
        outcome,
        "APP",
        &[
            ("compartment", "serial-caller"),
            ("busy", "1"),
            ("parallel", "2"),
            ("claimed", "1"),
            ("reclaimed", "1"),
        ],
    );
    assert!(
        console(outcome, "serial-caller").contains(
            &"serial-caller: held.owner() -> the callee is serial and busy on another vCPU; retry later"
        ),
        "no Busy, or not its message\n{}",
        outcome.failure_report()
    );
    for name in ["held", "held-parallel", "serial-caller", "fresh"] {
        assert_record(outcome, "EXIT", &[("compartment", name), ("code", "0")]);
    }
    assert!(
        records(outcome, "FAULT").is_empty(),
        "BUSY stopped someone\n{}",
        outcome.failure_report()
    );
    // The refused call ran nothing in `held`: no call in; `fresh` took its three.
    assert_record(
        outcome,
        "STATS",
        &[("compartment", "held"), ("calls_in", "0")],
    );
    assert_record(
        outcome,
        "STATS",
        &[("compartment", "fresh"), ("calls_in", "3")],
    );
}
