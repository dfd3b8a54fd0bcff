//! Gates between compartments on Bochs tigerlake (hardware VMFUNC), booted from their
//! declarations (`tessera.toml` → packages + manifest module): pingpong's round trips
//! cost no VM exit, the vault's key stays in the vault while its clients are served, and
//! every attack scenario in compartments/scenarios/ is contained as declared.
//!
//! Each declaration boots once per run; tests asserting on the same boot share it, and
//! different declarations boot concurrently (within the runner's emulator limit).

use tessera_scenarios::{
    assert_passed, assert_record, boot_declaration, console, declaration, line_index, records,
};

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
/// The MAC of what the client signs after its restart (`n=4`).
const RESTARTED_MAC: &str = "3bdaebdeff68c89bbf2b9cbc898a15cdb7d93f5c87fd811c9b7c44410236d3a3";
const AUDITOR_MAC: &str = "e257b148711eac77074505b249cba7c99948e69b0f3a5bd78f65610e4d6c56c1";

#[test]
fn vault_signs_stops_the_key_thief_restarts_it_and_still_serves_everyone() {
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
    // The key is provisioned, not compiled in: the vault's image does not hold it.
    assert!(
        console(outcome, "vault")
            .contains(&"vault: ready to sign (32-byte provisioned key, never exported)"),
        "{}",
        report()
    );
    let vault = declaration("examples/vault")
        .into_iter()
        .find(|m| m.name == "vault")
        .expect("the vault's module");
    let image = std::fs::read(&vault.path).expect("the vault's image");
    let key = std::fs::read("../examples/vault/key.bin")
        .or_else(|_| std::fs::read("examples/vault/key.bin"))
        .expect("key.bin");
    assert!(
        !image.windows(key.len()).any(|w| w == key),
        "the vault's image holds its key"
    );
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
    // The thief is restarted from its pristine image, knows it, and signs again.
    let restart = line_index(outcome, |l| {
        l.starts_with("@@RESTART compartment=client reason=memory count=1 ")
    })
    .unwrap_or_else(|| panic!("no @@RESTART for the client\n{}", report()));
    assert!(restart > fault, "restarted before the fault\n{}", report());
    let resigned = line_index(outcome, |l| {
        l.starts_with("[client] SIGNED by=client n=4 ")
            && l.contains(&format!("mac={RESTARTED_MAC}"))
    })
    .unwrap_or_else(|| {
        panic!(
            "the restarted client got no (correct) signature\n{}",
            report()
        )
    });
    assert!(
        resigned > restart,
        "signed before the restart\n{}",
        report()
    );
    assert!(
        client.iter().any(|l| l.contains("restart_count=1")),
        "the client did not see restart_count() == 1\n{}",
        report()
    );
    for compartment in ["client", "auditor"] {
        assert_record(
            outcome,
            "EXIT",
            &[("compartment", compartment), ("code", "0")],
        );
    }
    assert_record(
        outcome,
        "STATS",
        &[
            ("compartment", "client"),
            ("faults", "1"),
            ("restarts", "1"),
        ],
    );
    assert_record(
        outcome,
        "STATS",
        &[("compartment", "vault"), ("faults", "0")],
    );
    assert_passed(outcome);
}
