//! The scenarios that predate the isolation rework: memory, privileged instructions,
//! gate jumps, forged returns, register scrubbing, callee failure.

use tessera_scenarios::{assert_record, check_scenario, console, line_index, records};

#[test]
fn scenario_read_victim() {
    check_scenario(
        "read-victim",
        &[(
            "attack-read-victim",
            &[
                ("kind", "memory"),
                ("gpa", "0x1000000"),
                ("access", "read"),
                ("allowed", "---"),
            ],
        )],
    );
}

#[test]
fn scenario_exec_grant() {
    check_scenario(
        "exec-grant",
        &[(
            "attack-exec-grant",
            &[
                ("kind", "memory"),
                ("gpa", "0x400000"),
                ("access", "execute"),
                ("allowed", "rw-"),
            ],
        )],
    );
}

#[test]
fn scenario_gate_jump() {
    let outcome = check_scenario(
        "gate-jump",
        &[(
            "attack-gate-jump-slot",
            &[
                ("kind", "exception"),
                ("vector", "3"),
                ("name", "breakpoint"),
            ],
        )],
    );
    // Past the frame push: whatever crossed was refused, the refusal found nothing
    // waiting, and only the attacker's own run ended.
    assert_record(
        outcome,
        "ABORT",
        &[
            ("compartment", "attack-gate-jump-deep"),
            ("reason", "protocol"),
        ],
    );
    assert!(
        console(outcome, "attack-gate-jump-mid")
            .iter()
            .any(|l| l.contains("refused")),
        "the victim's view did not refuse the mid-gate call\n{}",
        outcome.failure_report()
    );
    assert_record(
        outcome,
        "EXIT",
        &[("compartment", "attack-gate-jump-mid"), ("code", "0")],
    );
}

/// A forged reply is refused by the victim's gate; the refusal is stray in the attacker's
/// view; the attacker's own run is aborted and nobody is stopped.
fn aborted_nobody_stopped(name: &str, attacker: &str) {
    let outcome = check_scenario(name, &[]);
    assert_record(
        outcome,
        "ABORT",
        &[("compartment", attacker), ("reason", "protocol")],
    );
    assert!(
        records(outcome, "FAULT").is_empty(),
        "scenario {name}: somebody was stopped\n{}",
        outcome.failure_report()
    );
}

#[test]
fn scenario_forged_return() {
    aborted_nobody_stopped("forged-return", "attack-forged-return");
}

#[test]
fn scenario_pad_jump() {
    // check_scenario also asserts the victim was not stopped and the bystander served.
    aborted_nobody_stopped("pad-jump", "attack-pad-jump");
}

#[test]
fn scenario_write_shared() {
    let outcome = check_scenario(
        "write-shared",
        &[
            (
                "attack-write-gate",
                &[("kind", "memory"), ("gpa", "0x200000"), ("access", "write")],
            ),
            (
                // The guest page tables have no guest-virtual address at all (so they are
                // out of reach even where the engine needs them writable, as QEMU's
                // nested walk does): the store faults in the guest's own paging.
                "attack-write-pagetables",
                &[
                    ("kind", "exception"),
                    ("vector", "14"),
                    ("name", "page-fault"),
                ],
            ),
            (
                "attack-write-gdt",
                &[
                    ("kind", "memory"),
                    ("gpa", "0x108000"),
                    ("access", "write"),
                    ("allowed", "r--"),
                ],
            ),
            (
                "attack-write-info",
                &[
                    ("kind", "memory"),
                    ("gpa", "0x204000"),
                    ("access", "write"),
                    ("allowed", "r--"),
                ],
            ),
        ],
    );
    // The gate's code: execute-only where the CPU has execute-only EPT, else r-x.
    let gate = records(outcome, "FAULT")
        .into_iter()
        .find(|r| r.get("compartment").map(String::as_str) == Some("attack-write-gate"))
        .and_then(|r| r.get("allowed").cloned());
    assert!(
        matches!(gate.as_deref(), Some("--x" | "r-x")),
        "the gate region is mapped {gate:?}, not --x or r-x"
    );
}

#[test]
fn scenario_privileged() {
    check_scenario(
        "privileged",
        &[
            (
                "attack-io-serial",
                &[("kind", "privileged"), ("action", "io"), ("port", "0x3f8")],
            ),
            (
                "attack-io-exit",
                &[("kind", "privileged"), ("action", "io"), ("port", "0xf4")],
            ),
            (
                "attack-msr",
                &[
                    ("kind", "privileged"),
                    ("action", "wrmsr"),
                    ("msr", "0xc0000082"),
                ],
            ),
            (
                "attack-icebp",
                &[("kind", "privileged"), ("action", "icebp")],
            ),
        ],
    );
}

#[test]
fn scenario_scrub() {
    let outcome = check_scenario("scrub", &[]);
    assert!(
        console(outcome, "attack-scrub")
            .iter()
            .any(|l| l.starts_with("attack-scrub: registers scrubbed both ways")),
        "no 'registers scrubbed both ways' line\n{}",
        outcome.failure_report()
    );
    assert_record(
        outcome,
        "EXIT",
        &[("compartment", "attack-scrub"), ("code", "0")],
    );
}

#[test]
fn scenario_callee_failure() {
    let outcome = check_scenario(
        "callee-failure",
        &[
            (
                "faulty-crash",
                &[
                    ("kind", "exception"),
                    ("vector", "0"),
                    ("name", "divide-error"),
                ],
            ),
            (
                "faulty-overflow",
                &[("kind", "memory"), ("access", "write"), ("allowed", "---")],
            ),
            ("faulty-spin", &[("kind", "watchdog")]),
        ],
    );
    let report = || outcome.failure_report();
    let failed: Vec<&str> = console(outcome, "caller")
        .into_iter()
        .filter(|l| l.starts_with("caller: ") && l.contains("-> CalleeFailed"))
        .collect();
    assert_eq!(
        failed.len(),
        4,
        "caller lines ending in CalleeFailed: {failed:?}\n{}",
        report()
    );
    assert_record(outcome, "EXIT", &[("compartment", "caller"), ("code", "0")]);
    // The second call to faulty-crash is refused, not run: one fault only.
    let crashes = records(outcome, "FAULT")
        .into_iter()
        .filter(|r| r.get("compartment").map(String::as_str) == Some("faulty-crash"))
        .count();
    assert_eq!(
        crashes,
        1,
        "faulty-crash faulted {crashes} times\n{}",
        report()
    );
    // Each callee failed during the caller's call: its main had exited 0 before, and the
    // caller reports the failure right after it, before it exits itself.
    let caller_exit = line_index(outcome, |l| l.starts_with("@@EXIT compartment=caller "));
    for (callee, call) in [
        ("faulty-crash", "crash"),
        ("faulty-overflow", "overflow"),
        ("faulty-spin", "spin"),
    ] {
        let main_exit = line_index(outcome, |l| {
            l.starts_with(&format!("@@EXIT compartment={callee} code=0"))
        });
        let fault = line_index(outcome, |l| {
            l.starts_with(&format!("@@FAULT compartment={callee} "))
        });
        let reported = line_index(outcome, |l| {
            l.starts_with(&format!(
                "[caller] caller: {callee}.{call}() -> CalleeFailed"
            ))
        });
        let order = [main_exit, fault, reported, caller_exit];
        assert!(
            order.iter().all(Option::is_some) && order.is_sorted(),
            "{callee}: expected its @@EXIT code=0, its @@FAULT, the caller's \
             '{callee}.{call}() -> CalleeFailed' and the caller's @@EXIT in that order, \
             found at lines {order:?}\n{}",
            report()
        );
    }
}
