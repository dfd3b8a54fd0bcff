//! Scenarios of the isolation issue (docs/gates.md "The principle"): one or more per class
//! of attack. Each asserts the `@@` lines that show the attacker contained (stopped for its
//! own fault, or its own run aborted) and every innocent compartment serving.

use tessera_scenarios::{
    assert_passed, assert_record, boot_declaration, check_scenario, console, line_index, records,
};
use xtask::runner::BootOutcome;

/// Whether `compartment` printed a console line containing `text`.
fn said(outcome: &BootOutcome, compartment: &str, text: &str) -> bool {
    console(outcome, compartment)
        .iter()
        .any(|l| l.contains(text))
}

fn assert_said(outcome: &BootOutcome, compartment: &str, text: &str) {
    assert!(
        said(outcome, compartment, text),
        "[{compartment}] never said `{text}`\n{}",
        outcome.failure_report()
    );
}

/// No `@@FAULT` line names any of `innocents`.
fn assert_never_stopped(outcome: &BootOutcome, innocents: &[&str]) {
    for r in records(outcome, "FAULT") {
        let who = r.get("compartment").map(String::as_str).unwrap_or("");
        assert!(
            !innocents.contains(&who),
            "{who} was stopped\n{}",
            outcome.failure_report()
        );
    }
}

#[test]
fn flags_segments_cr2_and_x87_never_cross_a_gate() {
    let outcome = check_scenario(
        "flags",
        &[(
            "attack-flags",
            &[
                ("kind", "exception"),
                ("vector", "7"),
                ("name", "device-not-available"),
            ],
        )],
    );
    assert_said(
        outcome,
        "attack-flags",
        "the callee saw RFLAGS=0x202, data segments, CR2=0",
    );
    assert_said(outcome, "attack-flags", "copied forwards (sum 2016)");
    assert_said(outcome, "attack-flags", "the dirty callee left nothing");
    assert_never_stopped(outcome, &["state-probe", "attack-dirty-callee"]);
}

#[test]
fn the_vault_signs_correctly_for_a_caller_that_set_df() {
    let outcome = boot_declaration("compartments/scenarios/vault-df");
    assert_said(
        outcome,
        "attack-vault-df",
        "SIGNED by=attack-vault-df mac=8a308287ca215f32b139ca2503adaa8606e8f644ce6b8f57192e8eaf077bcf24",
    );
    assert_said(
        outcome,
        "auditor",
        "mac=e257b148711eac77074505b249cba7c99948e69b0f3a5bd78f65610e4d6c56c1",
    );
    assert_never_stopped(outcome, &["vault", "auditor", "attack-vault-df"]);
    assert_passed(outcome);
}

#[test]
fn a_plugin_at_depth_two_cannot_get_its_caller_or_the_app_stopped() {
    let outcome = check_scenario(
        "deep-blame",
        &[(
            "attack-plugin",
            &[("kind", "memory"), ("access", "execute")],
        )],
    );
    assert_never_stopped(outcome, &["deep-app", "deep-lib"]);
    let resumed = records(outcome, "UNWIND")
        .into_iter()
        .filter(|r| r.get("resumed").map(String::as_str) == Some("deep-lib"))
        .count();
    assert_eq!(
        resumed,
        4,
        "deep-lib's call to the plugin should fail once per attack\n{}",
        outcome.failure_report()
    );
    for mode in 1..=4 {
        assert_said(
            outcome,
            "deep-app",
            &format!("relay({mode}) -> the plugin failed, deep-lib answered"),
        );
    }
    assert_said(outcome, "deep-app", "the stopped plugin is refused");
    assert_record(
        outcome,
        "EXIT",
        &[("compartment", "deep-app"), ("code", "0")],
    );
}

#[test]
fn a_call_before_the_callees_main_ran_is_served_from_its_export_table() {
    let outcome = check_scenario("early-call", &[]);
    assert_said(
        outcome,
        "early-caller",
        "victim.ping before the victim's main ran -> Ok(7)",
    );
}

#[test]
fn re_entrant_unwinding_answers_each_waiter_and_depth_is_bounded() {
    let outcome = check_scenario(
        "reentrant",
        &[("reentrant-plugin", &[("kind", "memory"), ("gpa", "0x1000")])],
    );
    assert_never_stopped(outcome, &["reentrant-host", "reentrant-echo"]);
    assert_said(
        outcome,
        "reentrant-host",
        "cb saw 1 (1 = CalleeFailed); work -> Err(CalleeFailed)",
    );
    assert_said(
        outcome,
        "reentrant-host",
        "recursion reached 32 nested calls, then TooDeep",
    );
    assert_record(
        outcome,
        "EXIT",
        &[("compartment", "reentrant-host"), ("code", "0")],
    );
}

#[test]
fn the_watchdog_bounds_time_not_time_between_exits() {
    let outcome = check_scenario("watchdog-exits", &[("spinner", &[("kind", "watchdog")])]);
    let fault = records(outcome, "FAULT")
        .into_iter()
        .find(|r| r.get("compartment").map(String::as_str) == Some("spinner"))
        .expect("spinner's fault");
    let number = |key: &str| {
        fault
            .get(key)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no number {key}= in {fault:?}"))
    };
    let (budget, used) = (number("budget"), number("used"));
    assert!(
        budget <= used && used <= 2 * budget,
        "stopped after {used} ticks of a {budget}-tick budget\n{}",
        outcome.failure_report()
    );
    assert_record(
        outcome,
        "EXIT",
        &[("compartment", "watchdog-caller"), ("code", "0")],
    );
}

#[test]
fn a_caller_cannot_aim_the_watchdog_at_its_callee() {
    let outcome = check_scenario("watchdog-aim", &[]);
    assert_never_stopped(outcome, &["spinner", "attack-aim"]);
    // The period ran out while the callee ran (hardware VMFUNC: Bochs tigerlake)...
    assert_record(
        outcome,
        "STATS",
        &[("compartment", "spinner"), ("exits.watchdog", "1")],
    );
    // ...and it answered every call.
    assert_said(
        outcome,
        "attack-aim",
        "spinner answered every call across the watchdog period",
    );
}

#[test]
fn a_fault_after_main_exited_decides_the_outcome() {
    let outcome = check_scenario("late-fault", &[("exit-five", &[("kind", "memory")])]);
    let exit = line_index(outcome, |l| {
        l.starts_with("@@EXIT compartment=exit-five code=5")
    });
    let fault = line_index(outcome, |l| l.starts_with("@@FAULT compartment=exit-five "));
    assert!(
        exit.is_some() && fault.is_some() && exit < fault,
        "exit-five should exit 5, then fault\n{}",
        outcome.failure_report()
    );
    // The runner names the export that faulted and the line, from the image it booted
    // (offset= in the line; the symbol and line tables of the ELF: docs/debugging.md).
    let fault = outcome.faults.iter().find(|f| f.compartment == "exit-five");
    let named = fault.and_then(|f| f.symbol.as_deref());
    assert!(
        named.is_some_and(|s| s.starts_with("exit_five::crash+0x")),
        "the fault was not named exit_five::crash: {named:?}\n{}",
        outcome.failure_report()
    );
    let source = fault.and_then(|f| f.source.as_deref());
    let read = "compartments/exit-five/src/main.rs";
    let line = std::fs::read_to_string(xtask::paths::workspace_root().join(read))
        .expect("exit-five's source")
        .lines()
        .position(|l| l.contains("read_volatile"))
        .expect("a read_volatile line");
    assert_eq!(
        source,
        Some(format!("{read}:{}", line + 1).as_str()),
        "\n{}",
        outcome.failure_report()
    );
}

#[test]
fn single_step_traps_are_never_fatal_and_never_follow_control() {
    let outcome = check_scenario(
        "tf",
        &[
            ("tf-panic", &[("kind", "panic")]),
            ("tf-fault", &[("kind", "memory"), ("gpa", "0x1000")]),
            ("attack-tf-main", &[("kind", "memory"), ("gpa", "0x1000")]),
        ],
    );
    assert_never_stopped(outcome, &["tf-caller", "attack-tf-pad"]);
    assert_said(outcome, "tf-caller", "no trap followed me back");
    assert_record(outcome, "ABORT", &[("compartment", "attack-tf-pad")]);
    assert_said(
        outcome,
        "attack-tf-main",
        "still here, and so is the hypervisor",
    );
}

#[test]
fn a_refusal_sent_to_an_innocent_view_is_never_answered_or_blamed() {
    let outcome = check_scenario("stray-refuse", &[]);
    assert!(
        records(outcome, "FAULT").is_empty(),
        "somebody was stopped\n{}",
        outcome.failure_report()
    );
    assert_record(outcome, "ABORT", &[("compartment", "attack-stray-refuse")]);
}

/// Scenario `redteam` (the red team of ABI 3's gate words, `serve!` servers and restarts;
/// compartments/README.md): a view's own `DATA_SELECTOR` and `IDLE_RSP` make only its own
/// gate fault (DESIGN §6 properties 2, 9), and null segments from it survive every VM
/// entry (property 8); a caller that abandons an honest server's
/// activation does not make it refuse later callers (property 9; `Busy` before the fix);
/// a restarted compartment finds its call buffer empty (issue 15; the secret was kept
/// before the fix).
#[test]
fn redteam_gate_words_abandoned_servers_and_restart_residue() {
    let outcome = check_scenario(
        "redteam",
        &[
            (
                "attack-gate-words",
                &[("kind", "exception"), ("vector", "13"), ("error", "0xfff8")],
            ),
            ("attack-residue", &[("kind", "exception"), ("vector", "6")]),
        ],
    );
    // The victim served the call whose reply the attacker's own gate then faulted on
    // (1), attack-null-selector's two (2) and the bystander's two.
    assert_record(
        outcome,
        "STATS",
        &[
            ("compartment", "victim"),
            ("calls_in", "5"),
            ("faults", "0"),
        ],
    );
    assert_said(
        outcome,
        "attack-null-selector",
        "attack-null-selector: null segments survived exits and calls (ping 1, 2)",
    );
    assert_said(
        outcome,
        "typed-outer",
        "attack-abandon: exiting from inside relay's callback",
    );
    assert_record(
        outcome,
        "APP",
        &[
            ("compartment", "typed-after"),
            ("answer", "relay(late)"),
            ("ok", "true"),
        ],
    );
    assert_record(
        outcome,
        "RESTART",
        &[("compartment", "attack-residue"), ("count", "1")],
    );
    assert_said(
        outcome,
        "attack-residue",
        "attack-residue: restarted with a clean call buffer (4096 bytes, restart_count=1)",
    );
    for compartment in [
        "attack-null-selector",
        "typed-inner",
        "typed-outer",
        "typed-after",
        "attack-residue",
    ] {
        assert_record(
            outcome,
            "EXIT",
            &[("compartment", compartment), ("code", "0")],
        );
    }
    assert_never_stopped(outcome, &["typed-inner", "typed-outer", "typed-after"]);
}
