//! Gates between compartments on Bochs tigerlake (hardware VMFUNC), booted from their
//! declarations (`tessera.toml` → packages + manifest module): pingpong's round trips
//! cost no VM exit, the vault's key stays in the vault while its clients are served, and
//! every attack scenario in compartments/scenarios/ is contained as declared.
//!
//! Each declaration boots once per run; tests asserting on the same boot share it, and
//! different declarations boot concurrently (within the runner's emulator limit).

use std::thread;
use tessera_scenarios::{
    assert_passed, assert_record, boot_declaration, console, declared, declared_outcome_problems,
    line_index, records,
};
use xtask::examples::available;

/// `key=value` pairs of a console line's words.
fn fields(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.split_whitespace().filter_map(|w| w.split_once('='))
}

#[test]
fn pingpong_round_trips_cost_no_exit_with_hardware_vmfunc() {
    let outcome = boot_declaration("examples/pingpong");
    let report = || outcome.failure_report();
    assert_record(outcome, "SWITCH", &[("mode", "hardware")]);
    let roundtrips = console(outcome, "ping")
        .into_iter()
        .find(|l| l.starts_with("ROUNDTRIPS "))
        .unwrap_or_else(|| panic!("no `[ping] ROUNDTRIPS` line\n{}", report()));
    let value = |key: &str| {
        fields(roundtrips)
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| v.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("`[ping] {roundtrips}` has no number {key}="))
    };
    assert_eq!(value("n"), 10_000, "[ping] {roundtrips}\n{}", report());
    assert_eq!(
        value("exits"),
        0,
        "round trips caused VM exits: [ping] {roundtrips}\n{}",
        report()
    );
    // The same result as a machine line (the SDK's report!).
    assert_record(
        outcome,
        "ROUNDTRIPS",
        &[("compartment", "ping"), ("n", "10000"), ("exits", "0")],
    );
    let calls_in = records(outcome, "STATS")
        .into_iter()
        .find(|r| r.get("compartment").map(String::as_str) == Some("pong"))
        .and_then(|r| r.get("calls_in").and_then(|v| v.parse::<u64>().ok()))
        .unwrap_or_else(|| panic!("no @@STATS compartment=pong calls_in=N\n{}", report()));
    assert!(
        calls_in >= 10_000,
        "pong was called {calls_in} times\n{}",
        report()
    );
    assert_passed(outcome);
}

/// The MACs of the client's three messages under the vault's demo key
/// (examples/vault/README.md; checked on the host by `cargo test -p vault-vault --lib`).
const CLIENT_MACS: [&str; 3] = [
    "8a308287ca215f32b139ca2503adaa8606e8f644ce6b8f57192e8eaf077bcf24",
    "4dd384bd46c69d618b3cb8c5b9cca8de5f7cc4287f4b8c1e24c0a10dc58b8ee4",
    "75e768863cbdbe103b1f43678039bc37f27b4f8135fc4fbbe40862ab6c8098bc",
];
const AUDITOR_MAC: &str = "e257b148711eac77074505b249cba7c99948e69b0f3a5bd78f65610e4d6c56c1";

#[test]
fn vault_signs_stops_the_key_thief_and_still_serves_the_auditor() {
    let outcome = boot_declaration("examples/vault");
    let report = || outcome.failure_report();
    let client = console(outcome, "client");
    for (n, mac) in CLIENT_MACS.iter().enumerate() {
        let n = (n + 1).to_string();
        let signed = client
            .iter()
            .find(|l| l.starts_with("SIGNED ") && fields(l).any(|f| f == ("n", n.as_str())));
        let got = signed.and_then(|l| fields(l).find(|(k, _)| *k == "mac").map(|(_, v)| v));
        assert_eq!(
            got,
            Some(*mac),
            "client signature {n}: {signed:?}\n{}",
            report()
        );
    }
    // The attack: reading the vault's memory (its key) is a contained EPT violation.
    assert_record(
        outcome,
        "FAULT",
        &[
            ("compartment", "client"),
            ("kind", "memory"),
            ("access", "read"),
            ("gpa", "0x1000000"),
        ],
    );
    assert!(
        !outcome
            .transcript
            .lines
            .iter()
            .any(|l| l.contains("not contained")),
        "the client read the vault's memory\n{}",
        report()
    );
    // The vault is unharmed: the auditor, running after the attack, gets its MAC.
    let fault = line_index(outcome, |l| {
        l.starts_with("@@FAULT compartment=client kind=memory")
    })
    .unwrap_or_else(|| panic!("no @@FAULT for the client\n{}", report()));
    let audited = line_index(outcome, |l| {
        l.starts_with("[auditor] SIGNED ") && l.contains(&format!("mac={AUDITOR_MAC}"))
    })
    .unwrap_or_else(|| panic!("the auditor got no (correct) signature\n{}", report()));
    assert!(
        audited > fault,
        "the auditor signed before the attack\n{}",
        report()
    );
    assert_record(
        outcome,
        "EXIT",
        &[("compartment", "auditor"), ("code", "0")],
    );
    assert_record(
        outcome,
        "STATS",
        &[("compartment", "client"), ("faults", "1")],
    );
    assert_record(
        outcome,
        "STATS",
        &[("compartment", "vault"), ("faults", "0")],
    );
    assert_passed(outcome);
}

/// Every scenario in compartments/scenarios/ (whatever exists): each compartment ends as
/// its `expect` says (`@@FAULT kind=`, `@@EXIT code=`, `@@REJECT`), and the boot passes.
/// The scenarios boot concurrently; every problem of every scenario is reported.
#[test]
fn every_scenario_ends_as_declared() {
    let names = available(&xtask::paths::scenarios_dir());
    eprintln!("scenarios: {}", names.join(", "));
    let results: Vec<(String, Vec<String>, String)> = thread::scope(|s| {
        let runs: Vec<_> = names
            .iter()
            .map(|name| {
                s.spawn(move || {
                    let path = format!("compartments/scenarios/{name}");
                    let d = declared(&path);
                    let outcome = boot_declaration(&path);
                    (
                        name.clone(),
                        declared_outcome_problems(&d, outcome),
                        outcome.failure_report(),
                    )
                })
            })
            .collect();
        runs.into_iter()
            .map(|run| run.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let failed: Vec<String> = results
        .iter()
        .filter(|(_, problems, _)| !problems.is_empty())
        .map(|(name, problems, report)| {
            format!("scenario {name}:\n  {}\n{report}", problems.join("\n  "))
        })
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

// ---- compartments/scenarios: the @@ lines compartments/README.md promises ----

/// A `@@FAULT` line a scenario must show: (compartment, fields besides `compartment=`).
type Fault = (&'static str, &'static [(&'static str, &'static str)]);

/// Boots scenario `name` (shared with [`every_scenario_ends_as_declared`]) and checks what
/// every attack scenario promises: each expected `@@FAULT`, no `not contained` line, the
/// victim and the bystander never stopped and exiting 0 (the bystander after the victim
/// answered it), and `@@RESULT pass`.
fn check_scenario(name: &str, faults: &[Fault]) -> &'static xtask::runner::RunOutcome {
    let outcome = boot_declaration(&format!("compartments/scenarios/{name}"));
    for (compartment, fields) in faults {
        let mut want = vec![("compartment", *compartment)];
        want.extend_from_slice(fields);
        assert_record(outcome, "FAULT", &want);
    }
    assert!(
        !outcome
            .transcript
            .lines
            .iter()
            .any(|l| l.contains("not contained")),
        "scenario {name}: an attack was not contained\n{}",
        outcome.failure_report()
    );
    let declared = declared(&format!("compartments/scenarios/{name}"));
    for innocent in ["victim", "bystander"] {
        if !declared.compartments.iter().any(|c| c.name == innocent) {
            continue;
        }
        let stopped = records(outcome, "FAULT")
            .into_iter()
            .any(|r| r.get("compartment").map(String::as_str) == Some(innocent));
        assert!(
            !stopped,
            "scenario {name}: {innocent} was stopped\n{}",
            outcome.failure_report()
        );
        assert_record(outcome, "EXIT", &[("compartment", innocent), ("code", "0")]);
    }
    if declared.compartments.iter().any(|c| c.name == "bystander") {
        assert!(
            console(outcome, "bystander")
                .iter()
                .any(|l| l.starts_with("bystander: victim answers") && l.ends_with("all fine")),
            "scenario {name}: the bystander was not served\n{}",
            outcome.failure_report()
        );
    }
    assert_passed(outcome);
    outcome
}

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
fn scenario_vmfunc_rogue() {
    let outcome = check_scenario(
        "vmfunc-rogue",
        &[(
            "attack-vmfunc-victim",
            &[
                ("kind", "memory"),
                ("access", "execute"),
                ("allowed", "---"),
                ("in_view", "victim"),
            ],
        )],
    );
    // The fetch that faulted is the attacker's own next instruction.
    let fault = records(outcome, "FAULT")
        .into_iter()
        .find(|r| r.get("compartment").map(String::as_str) == Some("attack-vmfunc-victim"))
        .unwrap_or_default();
    assert_eq!(
        fault.get("gpa"),
        fault.get("rip"),
        "the execute fault is not at the attacker's own code: {fault:?}"
    );
}

#[test]
fn scenario_vmfunc_invalid() {
    check_scenario(
        "vmfunc-invalid",
        &[
            ("attack-vmfunc-index", &[("kind", "vmfunc")]),
            ("attack-vmfunc-leaf", &[("kind", "vmfunc")]),
        ],
    );
}

#[test]
fn scenario_gate_jump() {
    let outcome = check_scenario(
        "gate-jump",
        &[
            (
                "attack-gate-jump-deep",
                &[
                    ("kind", "memory"),
                    ("gpa", "0x11"),
                    ("access", "write"),
                    ("allowed", "---"),
                ],
            ),
            (
                "attack-gate-jump-slot",
                &[
                    ("kind", "exception"),
                    ("vector", "3"),
                    ("name", "breakpoint"),
                ],
            ),
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

#[test]
fn scenario_forged_return() {
    check_scenario(
        "forged-return",
        &[(
            "attack-forged-return",
            &[
                ("kind", "gate-violation"),
                ("reason", "return-without-call"),
                ("reported_by", "victim"),
            ],
        )],
    );
}

#[test]
fn scenario_pad_jump() {
    // check_scenario also asserts the victim was not stopped and the bystander served.
    check_scenario(
        "pad-jump",
        &[("attack-pad-jump", &[("kind", "gate-violation")])],
    );
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

/// Where a Unicode-aware splitter (Python's `str.splitlines`) breaks a line, and what a
/// terminal acts on: none may appear inside a line of the transcript.
fn breaks_or_controls(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

#[test]
fn scenario_console() {
    let outcome = check_scenario("console", &[]);
    let report = || outcome.failure_report();
    // The raw bytes on COM1, from the kernel's first line on: valid UTF-8 whose only
    // controls are the line ends (the UART writes CR LF).
    let raw = std::fs::read(&outcome.com1).expect("COM1 transcript");
    let text = String::from_utf8_lossy(&raw);
    let start = text.find("@@").unwrap_or(0);
    let text = &text[start..];
    assert!(
        !text.contains('\u{fffd}'),
        "invalid UTF-8 reached COM1\n{}",
        report()
    );
    for line in text.split("\r\n") {
        assert!(
            !line.chars().any(breaks_or_controls),
            "a line carries a control character or line separator: {line:?}\n{}",
            report()
        );
    }
    // So even a splitter that breaks at every control and separator sees one
    // @@RESULT line; the forged ones stay inside the forger's prefixed lines.
    let results = text
        .split(breaks_or_controls)
        .filter(|segment| segment.starts_with("@@RESULT"))
        .count();
    assert_eq!(
        results,
        1,
        "{results} @@RESULT in the transcript\n{}",
        report()
    );
    // What the forger wrote is there, escaped, behind its prefix.
    let forge = console(outcome, "attack-console-forge");
    for expected in [
        "cr\\x0d@@RESULT pass",
        "erase\\x1b[2K\\x1b[1G@@RESULT pass",
        "nel\\u{85}@@RESULT pass",
        "latin1-nel\\x85@@RESULT pass",
        "ls\\u{2028}@@FAULT compartment=victim kind=memory",
        "rlo\\u{202e}ssap TLUSER@@",
        "escape-text \\\\x1b\\\\u{85} stays text",
        "split\\x1b[2K@@RESULT pass",
    ] {
        assert!(
            forge.contains(&expected),
            "no `[attack-console-forge] {expected}` line\n{}",
            report()
        );
    }
    assert_record(
        outcome,
        "EXIT",
        &[("compartment", "attack-console-forge"), ("code", "0")],
    );
    // The flood: within its 64 KiB (prefix and newline counted), then one @@TRUNCATED,
    // and it ran on to exit 0; nobody else was truncated.
    let truncated = records(outcome, "TRUNCATED");
    assert_eq!(
        truncated.len(),
        1,
        "expected one @@TRUNCATED line\n{}",
        report()
    );
    assert_record(
        outcome,
        "TRUNCATED",
        &[("compartment", "attack-console-flood")],
    );
    let prefix = "[attack-console-flood] ";
    let spent: usize = outcome
        .transcript
        .lines
        .iter()
        .filter(|l| l.starts_with(prefix))
        .map(|l| l.len() + 1)
        .sum();
    assert!(
        (65536 - 200..=65536).contains(&spent),
        "the flood printed {spent} bytes, not just under 64 KiB\n{}",
        report()
    );
    assert_record(
        outcome,
        "EXIT",
        &[("compartment", "attack-console-flood"), ("code", "0")],
    );
    // Reports carry only L1's identity: the honest one with the reporter's name, no
    // forged one at all.
    assert_record(
        outcome,
        "ROUNDTRIPS",
        &[("compartment", "attack-report-identity"), ("n", "1")],
    );
    for word in ["ROUNDTRIPS", "CALL", "BENCH"] {
        let forged: Vec<&str> = outcome
            .transcript
            .records(word)
            .filter(|r| r.get("compartment") != Some("attack-report-identity"))
            .map(|r| r.rest.as_str())
            .collect();
        assert!(
            forged.is_empty(),
            "@@{word} lines not from the reporter: {forged:?}\n{}",
            report()
        );
    }
    let identities: Vec<&str> = outcome
        .transcript
        .records
        .iter()
        .filter(|r| {
            r.pairs()
                .any(|(k, _)| matches!(k, "caller" | "callee" | "cpu"))
        })
        .map(|r| r.rest.as_str())
        .collect();
    assert!(
        identities.is_empty(),
        "lines naming caller/callee/cpu: {identities:?}\n{}",
        report()
    );
    assert_record(
        outcome,
        "EXIT",
        &[("compartment", "attack-report-identity"), ("code", "0")],
    );
    let flood_end = line_index(outcome, |l| l.starts_with("@@TRUNCATED "));
    let bystander = line_index(outcome, |l| l.starts_with("[bystander] "));
    assert!(
        flood_end < bystander,
        "the bystander printed nothing after the flood\n{}",
        report()
    );
}

#[test]
fn scenario_hypercalls() {
    let outcome = check_scenario("hypercalls", &[]);
    assert!(
        console(outcome, "attack-hypercall-pagetables")
            .contains(&"attack-hypercall-pagetables: every page-table buffer refused"),
        "the page tables were not refused as buffers\n{}",
        outcome.failure_report()
    );
    assert_record(
        outcome,
        "EXIT",
        &[
            ("compartment", "attack-hypercall-pagetables"),
            ("code", "0"),
        ],
    );
    // Every error code as documented: hypercall-errors prints each mismatch and exits 1.
    assert!(
        console(outcome, "hypercall-errors")
            .contains(&"hypercall-errors: every documented error code"),
        "hypercall errors differ from the ABI docs\n{}",
        outcome.failure_report()
    );
}
