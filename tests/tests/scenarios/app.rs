//! Scenario `app-reports` (issue 14, application reports): `@@APP` lines are a
//! compartment's own, in the name of the view that made the call, their values escaped
//! so that they decode to exactly what was sent; refused buffers print nothing; a REPORT
//! word of one's own is answered NO_SUCH_WORD with a message naming it; the lines are
//! paid for from the console budget.

use tessera_scenarios::{assert_record, check_scenario, console};
use xtask::transcript::Record;

#[test]
fn scenario_app_reports() {
    let outcome = check_scenario("app-reports", &[]);
    let report = || outcome.failure_report();
    let apps: Vec<&Record> = outcome.transcript.records("APP").collect();
    let first = |key: &str| {
        apps.iter()
            .find(|r| r.get(key).is_some())
            .unwrap_or_else(|| panic!("no @@APP line with {key}=\n{}", report()))
    };
    // compartment= is L1's and first; the values are the compartment's, escaped on the
    // line and exactly what it sent once decoded.
    let start = first("note");
    assert_eq!(
        outcome
            .transcript
            .lines
            .iter()
            .find(|l| l.starts_with("@@APP compartment=app-client op=start")),
        Some(
            &"@@APP compartment=app-client op=start rx.bytes=4096 \
              note=a%20b%3Dc%25d%0A@@RESULT%20pass text=caf%C3%A9%20%E2%80%AE empty= ok=true"
                .to_owned()
        ),
        "{}",
        report()
    );
    assert_eq!(start.tokens[0], "compartment=app-client");
    assert_eq!(
        start.text("note").as_deref(),
        Some("a b=c%d\n@@RESULT pass")
    );
    assert_eq!(start.text("text").as_deref(), Some("caf\u{e9} \u{202e}"));
    assert_eq!(start.text("empty").as_deref(), Some(""));
    // Keys chosen at run time (AppLine).
    let run_time = first("k.0");
    assert_eq!(
        [
            run_time.get("k.0"),
            run_time.get("k.1"),
            run_time.get("k_2")
        ],
        [Some("0"), Some("10"), Some("20")]
    );
    // The store's export ran while app-client's main was running: its line is in its
    // own name, and app-client has no line claiming to be the store.
    assert_record(
        outcome,
        "APP",
        &[("compartment", "app-store"), ("op", "put"), ("n", "7")],
    );
    assert_record(
        outcome,
        "APP",
        &[("compartment", "app-store"), ("ready", "true")],
    );
    // Every @@APP line starts with compartment= and names no other identity.
    for r in &apps {
        assert!(
            r.tokens[0].starts_with("compartment=")
                && r.pairs()
                    .skip(1)
                    .all(|(k, _)| !matches!(k, "compartment" | "caller" | "callee" | "cpu")),
            "an @@APP line with a forged identity: @@APP {}\n{}",
            r.rest,
            report()
        );
    }
    // The refused buffers printed nothing: only the lines above and the budget's.
    let expected_keys = [
        &["op", "rx.bytes", "note", "text", "empty", "ok"][..],
        &["k.0", "k.1", "k_2"],
        &["ready"],
        &["op", "n"],
        &["i", "pad"],
    ];
    for r in &apps {
        let keys: Vec<&str> = r.pairs().skip(1).map(|(k, _)| k).collect();
        assert!(
            expected_keys.contains(&keys.as_slice()),
            "an @@APP line nobody should have printed: @@APP {}\n{}",
            r.rest,
            report()
        );
    }
    // A REPORT word of its own: refused, and the SDK's message names the word.
    let client = console(outcome, "app-client");
    assert!(
        client
            .iter()
            .any(|l| l.starts_with("app-client: no report word \"KV\"")
                && l.contains("tessera_sdk::app!")
                && l.ends_with("(-11)")),
        "no message naming the word KV\n{}",
        report()
    );
    assert!(outcome.transcript.records("KV").next().is_none());
    assert!(
        client.contains(&"app-client: every app report as documented"),
        "app-client found a mismatch\n{}",
        report()
    );
    // The budget (console = 4096): the lines it paid for, their newlines and its console
    // text fit in it; then one @@TRUNCATED and it kept running to exit 0.
    let paid: usize = outcome
        .transcript
        .lines
        .iter()
        .filter(|l| {
            l.starts_with("@@APP compartment=app-client ") || l.starts_with("[app-client] ")
        })
        .map(|l| l.len() + 1)
        .sum();
    assert!(
        (4096 - 64..=4096).contains(&paid),
        "app-client was printed {paid} bytes, not just under its 4096\n{}",
        report()
    );
    assert_record(outcome, "TRUNCATED", &[("compartment", "app-client")]);
    assert_record(
        outcome,
        "EXIT",
        &[("compartment", "app-client"), ("code", "0")],
    );
}

/// Scenario `typed-hostile` (issue 14, data across calls; docs/gates.md "Call buffers"):
/// a callee's garbage replies are `CallError::BadReply` for the caller, never a fault or
/// a panic; a caller's wrong fingerprint or over-long length is rejected by the callee's
/// shim; the proper call still works afterwards.
#[test]
fn scenario_typed_hostile() {
    let outcome = check_scenario("typed-hostile", &[]);
    let report = || outcome.failure_report();
    for (check, got) in [
        ("past-the-buffer", "Err(BadReply)"),
        ("not-a-string", "Err(BadReply)"),
        ("not-a-length", "Err(BadReply)"),
        ("valid", "Ok(\"ok\")"),
        ("mismatch", "Some(Mismatch)"),
        ("malformed", "Some(Malformed)"),
        // Values stay escaped as on the line (docs/transcript.md): a space is %20.
        ("honest", "Ok(\"still%20served!\")"),
        (
            "struct",
            "Ok(Shouted%20{%20text:%20\"two!!\",%20marks:%202%20})",
        ),
    ] {
        assert_record(
            outcome,
            "APP",
            &[
                ("compartment", "typed-caller"),
                ("check", check),
                ("got", got),
                ("ok", "true"),
            ],
        );
    }
    assert!(
        outcome.transcript.records("FAULT").next().is_none(),
        "{}",
        report()
    );
    for compartment in ["typed-liar", "typed-caller"] {
        assert_record(
            outcome,
            "EXIT",
            &[("compartment", compartment), ("code", "0")],
        );
    }
}

/// Scenario `typed-reentrant` (docs/gates.md "Call buffers", why nested and re-entrant
/// calls on one edge are safe): a call over the edge a pending call's arguments came in
/// on does not disturb it, and a re-entrant call into a server that is lent out is
/// refused, not aliased.
#[test]
fn scenario_typed_reentrant() {
    let outcome = check_scenario("typed-reentrant", &[]);
    assert_record(
        outcome,
        "APP",
        &[
            ("compartment", "typed-outer"),
            ("answer", "relay([x>inner]|Err(Rejected(Busy)))"),
            ("ok", "true"),
        ],
    );
    assert_record(
        outcome,
        "STATS",
        &[
            ("compartment", "typed-inner"),
            ("calls_in", "3"),
            ("faults", "0"),
        ],
    );
    for compartment in ["typed-outer", "typed-inner"] {
        assert_record(
            outcome,
            "EXIT",
            &[("compartment", compartment), ("code", "0")],
        );
    }
}
