//! Lifecycle scenarios (docs/manifest.md "Lifecycle"): a compartment stopped for a fault
//! is restarted from its pristine image when its manifest says `restart = "on-fault"`,
//! serves again, keeps none of its old bytes, and stays stopped once `max_restarts` is
//! spent. Every image is measured before it runs. Provisioned data are mapped in their
//! compartment's view only.

use sha2::{Digest, Sha256};
use tessera_scenarios::{assert_record, check_scenario, console, declaration, line_index, records};

/// The kv store's parser is exploited (a write outside its memory), the store is
/// restarted and answers every later command, from an empty store.
#[test]
fn scenario_restart_kv() {
    let outcome = check_scenario(
        "restart-kv",
        &[(
            "kv-store",
            &[("kind", "memory"), ("access", "write"), ("gpa", "0x8")],
        )],
    );
    let report = || outcome.failure_report();
    assert_record(
        outcome,
        "RESTART",
        &[
            ("compartment", "kv-store"),
            ("reason", "memory"),
            ("count", "1"),
        ],
    );
    let restart = line_index(outcome, |l| l.starts_with("@@RESTART compartment=kv-store"))
        .unwrap_or_else(|| panic!("no @@RESTART\n{}", report()));
    let served = line_index(outcome, |l| {
        l.starts_with("[kv-client] KV n=4 ") && l.ends_with("reply=\"missing\"")
    })
    .unwrap_or_else(|| panic!("the restarted store kept its old data\n{}", report()));
    assert!(served > restart, "served before the restart\n{}", report());
    assert!(
        console(outcome, "kv-client")
            .contains(&"kv-client: 5 commands served after the exploit, 0 wrong"),
        "{}",
        report()
    );
    // Its last outcome is its main's exit: the restart undid the fault's.
    assert_record(
        outcome,
        "EXIT",
        &[("compartment", "kv-store"), ("code", "0")],
    );
    assert_record(
        outcome,
        "STATS",
        &[
            ("compartment", "kv-store"),
            ("faults", "1"),
            ("restarts", "1"),
            ("calls_in", "8"),
        ],
    );
}

/// A compartment that faults on every call is restarted twice (`max_restarts = 2`), then
/// stays stopped: the fourth call is refused without running it.
#[test]
fn scenario_restart_limit() {
    let outcome = check_scenario(
        "restart-limit",
        &[(
            "faulty-again",
            &[("kind", "exception"), ("name", "divide-error")],
        )],
    );
    let report = || outcome.failure_report();
    let restarts: Vec<String> = records(outcome, "RESTART")
        .iter()
        .map(|r| r.get("count").cloned().unwrap_or_default())
        .collect();
    assert_eq!(restarts, ["1", "2"], "{}", report());
    assert_eq!(records(outcome, "FAULT").len(), 3, "{}", report());
    assert!(
        console(outcome, "crash-caller")
            .contains(&"crash-caller: every call came back CalleeFailed; still running"),
        "{}",
        report()
    );
    assert_record(
        outcome,
        "STATS",
        &[
            ("compartment", "faulty-again"),
            ("faults", "3"),
            ("restarts", "2"),
            ("calls_in", "3"),
        ],
    );
}

/// What the compartment kept in its static data, heap and stack before the fault is gone
/// after the restart (and the same scan found all three copies before it).
#[test]
fn scenario_restart_secrets() {
    let outcome = check_scenario(
        "restart-secrets",
        &[("secret-keeper", &[("kind", "exception")])],
    );
    assert_record(
        outcome,
        "RESTART",
        &[("compartment", "secret-keeper"), ("count", "1")],
    );
    // The scan finds the secret where the keeper put it (static data, heap, stack: at
    // least three copies, more where the compiler spilled one), and none after the restart.
    let scan = console(outcome, "secret-prober")
        .into_iter()
        .find_map(|l| l.strip_prefix("SCAN "))
        .unwrap_or_else(|| panic!("no SCAN line\n{}", outcome.failure_report()));
    let count = |key: &str| -> u64 {
        scan.split(' ')
            .find_map(|f| f.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in {scan:?}"))
    };
    assert!(
        count("copies_before") >= 3,
        "the scan does not work: {scan}"
    );
    assert_eq!(
        count("copies_after"),
        0,
        "a secret survived the restart: {scan}"
    );
}

/// `@@IMAGE` is the SHA-256 of the module as built (what `sha256sum` prints), before any
/// code of the compartment runs.
#[test]
fn every_image_is_measured_before_it_runs() {
    let outcome = check_scenario("restart-kv", &[]);
    for module in declaration("compartments/scenarios/restart-kv") {
        if module.name == "manifest" {
            continue;
        }
        let bytes = std::fs::read(&module.path).expect("image");
        let want = format!("{:x}", Sha256::digest(&bytes));
        assert_record(
            outcome,
            "IMAGE",
            &[
                ("compartment", module.name.as_str()),
                ("sha256", want.as_str()),
            ],
        );
        let name = module.name.clone();
        let measured = line_index(outcome, |l| {
            l.starts_with(&format!("@@IMAGE compartment={name} "))
        });
        let ran = line_index(outcome, |l| l.starts_with(&format!("[{name}] ")));
        assert!(measured < ran, "{name} ran before it was measured");
    }
}

/// The victim's provisioned data are not in the attacker's view: its data directory is
/// empty there, and reading the data window faults.
#[test]
fn scenario_data_isolation() {
    check_scenario(
        "data-isolation",
        &[(
            "attack-read-data",
            &[("kind", "memory"), ("gpa", "0x300000"), ("access", "read")],
        )],
    );
}
