//! Images the hypervisor refuses at load, each alone, on Bochs tigerlake (hardware
//! VMFUNC); tests/tests/everywhere.rs boots the same scenarios on every other engine.
//!
//! - Property 2 (DESIGN §6): an image whose executable memory as loaded holds `0F 01 D4`
//!   never runs: `@@REJECT problem=vmfunc-bytes offset=0x...` (scenarios `vmfunc-rogue`,
//!   `vmfunc-invalid`, whose attackers execute `vmfunc` from their own code).
//! - Resource exhaustion (issue 10, class 10): an image larger than the memory left is
//!   rejected alone, `@@REJECT problem=out-of-memory needed=BYTES` (scenario
//!   `huge-image`).
//! - ABI version enforced (issue 14): an image whose ABI-version note names another ABI
//!   is rejected alone, `@@REJECT problem=abi-version image_abi=1 hypervisor_abi=N`, its
//!   message naming both versions (scenario `abi-version`).
//!
//! In each, the victim and the bystander load and exit 0 as declared.

use tessera_scenarios::{
    assert_passed, assert_record, boot_declaration, console, declared, declared_outcome_problems,
    records,
};
use xtask::runner::BootOutcome;

/// Boots scenario `name` and checks it ended as declared, with nothing `not contained`.
fn boot(name: &str) -> &'static BootOutcome {
    let path = format!("compartments/scenarios/{name}");
    let outcome = boot_declaration(&path);
    let problems = declared_outcome_problems(&declared(&path), outcome);
    assert!(
        problems.is_empty(),
        "{}\n{}",
        problems.join("\n"),
        outcome.failure_report()
    );
    assert!(
        !outcome
            .transcript
            .lines
            .iter()
            .any(|l| l.contains("not contained")),
        "scenario {name}: an attack was not contained\n{}",
        outcome.failure_report()
    );
    for innocent in ["victim", "bystander"] {
        assert_record(outcome, "EXIT", &[("compartment", innocent), ("code", "0")]);
    }
    assert_passed(outcome);
    outcome
}

/// `@@REJECT module=COMPARTMENT problem=PROBLEM` carries `KEY=` (returned), and the
/// compartment never ran: no console line, no `@@FAULT`, no `@@EXIT`.
fn rejected(outcome: &BootOutcome, compartment: &str, problem: &str, key: &str) -> String {
    assert_record(
        outcome,
        "REJECT",
        &[("module", compartment), ("problem", problem)],
    );
    let value = records(outcome, "REJECT")
        .into_iter()
        .find(|r| r.get("module").map(String::as_str) == Some(compartment))
        .and_then(|r| r.get(key).cloned())
        .unwrap_or_else(|| {
            panic!(
                "@@REJECT of {compartment} has no {key}=\n{}",
                outcome.failure_report()
            )
        });
    let ran = records(outcome, "FAULT")
        .iter()
        .chain(&records(outcome, "EXIT"))
        .any(|r| r.get("compartment").map(String::as_str) == Some(compartment));
    assert!(
        console(outcome, compartment).is_empty() && !ran,
        "{compartment} ran although it was rejected\n{}",
        outcome.failure_report()
    );
    value
}

/// The offset is inside the image's code: hex, past the first (read-only) page.
fn assert_code_offset(offset: &str) {
    let value = offset
        .strip_prefix("0x")
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .unwrap_or_else(|| panic!("offset={offset} is not hex"));
    assert!(value >= 0x1000, "offset={offset}");
}

#[test]
fn an_image_with_its_own_vmfunc_never_runs() {
    let outcome = boot("vmfunc-rogue");
    assert_code_offset(&rejected(
        outcome,
        "attack-vmfunc-victim",
        "vmfunc-bytes",
        "offset",
    ));
}

#[test]
fn vmfunc_with_invalid_operands_is_rejected_the_same_way() {
    let outcome = boot("vmfunc-invalid");
    for attacker in ["attack-vmfunc-index", "attack-vmfunc-leaf"] {
        assert_code_offset(&rejected(outcome, attacker, "vmfunc-bytes", "offset"));
    }
}

#[test]
fn an_image_larger_than_free_memory_is_rejected_alone() {
    let outcome = boot("huge-image");
    let needed = rejected(outcome, "attack-huge-image", "out-of-memory", "needed");
    let needed: u64 = needed.parse().unwrap_or_default();
    assert!(needed >= 255 << 20, "needed={needed}");
}

#[test]
fn an_image_built_against_another_abi_is_rejected_alone_naming_both_versions() {
    let outcome = boot("abi-version");
    let ours = tessera_abi::ABI_VERSION.to_string();
    assert_eq!(
        rejected(outcome, "stale-abi", "abi-version", "hypervisor_abi"),
        ours
    );
    assert_eq!(
        rejected(outcome, "stale-abi", "abi-version", "image_abi"),
        "1"
    );
    let message = rejected(outcome, "stale-abi", "abi-version", "message");
    let want = format!("built%20against%20ABI%201,%20this%20hypervisor%20speaks%20ABI%20{ours}");
    assert!(message.contains(&want), "{message}");
}
