//! Which kernel runs the VMFUNC conformance fixture (docs/conformance.md): the hypervisor
//! does not contain it and refuses `conformance=1`; the kernel built with the cargo
//! feature `fixture` runs it; without `conformance=1` that kernel runs compartments as the
//! hypervisor does. On QEMU TCG (SVM + NPT), the fastest engine.

use tessera_scenarios::{
    assert_passed, assert_record, boot_kernel, boot_modules, compartment, fixture_kernel, kernel,
    qemu, records,
};
use xtask::transcript::Verdict;

const CPU: &str = "qemu64,+svm,+npt";

#[test]
fn the_hypervisor_refuses_conformance_1() {
    let modules = vec![compartment("bench-vmfunc")];
    let outcome = boot_kernel(kernel(), qemu(CPU), "conformance=1", modules);
    match &outcome.verdict {
        Verdict::Fail { reason } => assert!(
            reason.contains("built-without-the-fixture"),
            "{reason}\n{}",
            outcome.failure_report()
        ),
        other => panic!("{other:?}\n{}", outcome.failure_report()),
    }
    assert!(records(&outcome, "VMFUNC_RULES").is_empty());
    assert!(records(&outcome, "BENCH").is_empty(), "nothing ran");
}

#[test]
fn the_fixture_kernel_runs_the_fixture_and_without_it_is_the_hypervisor() {
    let fixture = boot_modules(
        qemu(CPU),
        "conformance=1",
        vec![compartment("bench-vmfunc")],
    );
    assert_passed(&fixture);
    assert_eq!(records(&fixture, "VMFUNC_RULES").len(), 1);
    // vmfunc-pair and switch-view: both ran, VMFUNC from its own code included.
    assert_eq!(fixture.transcript.records("BENCH").count(), 2);
    let hello = boot_kernel(fixture_kernel(), qemu(CPU), "", vec![compartment("hello")]);
    assert_passed(&hello);
    assert_record(&hello, "EXIT", &[("compartment", "hello"), ("code", "0")]);
    assert!(records(&hello, "VMFUNC_RULES").is_empty());
}
