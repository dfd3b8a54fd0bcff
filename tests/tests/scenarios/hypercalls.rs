//! Scenarios of issue 10's console and hypercall part: nothing a compartment prints can
//! forge a transcript line or anyone's identity, its output is bounded, hypercall
//! buffers are guest-virtual, and every hypercall error is the one the ABI documents.

use tessera_scenarios::{assert_record, check_scenario, console, line_index, records};

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
