//! VMX controls computed from capability MSRs recorded on real engines
//! (`cargo xtask capture-caps`): every word satisfies the SDM's allowed-0/allowed-1 rule
//! and holds every required control; optional features follow the CPU.

use tessera_core::caps::{Capabilities, RawDump};
use tessera_core::vmx::controls::{OPTIONAL, REQUIRED, Request, Word, compute};

fn caps(name: &str) -> Capabilities {
    let path = format!(
        "{}/tests/fixtures/caps/{name}.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    Capabilities::decode(&RawDump::parse(&text).unwrap_or_else(|e| panic!("{path}: {e}")))
}

fn check(name: &str, request: Request, expect_vmfunc: bool) {
    let caps = caps(name);
    let vmx = caps.vmx.as_ref().expect("fixture has VMX");
    let ctl = compute(vmx, request).unwrap_or_else(|e| panic!("{name}: {e}"));
    let words = [
        (Word::Pin, ctl.pin.bits(), vmx.pin),
        (Word::Primary, ctl.primary.bits(), vmx.proc),
        (
            Word::Secondary,
            ctl.secondary.bits(),
            vmx.proc2.expect("secondary controls"),
        ),
        (Word::Exit, ctl.exit.bits(), vmx.exit),
        (Word::Entry, ctl.entry.bits(), vmx.entry),
    ];
    for (word, value, allowed) in words {
        assert_eq!(
            value & allowed.allowed0,
            allowed.allowed0,
            "{name} {word:?}: a must-be-1 bit is 0"
        );
        assert_eq!(
            value & !allowed.allowed1,
            0,
            "{name} {word:?}: a may-not-be-1 bit is 1"
        );
        for control in REQUIRED.iter().filter(|c| c.word == word) {
            assert_ne!(
                value & (1 << control.bit),
                0,
                "{name}: {} missing",
                control.name
            );
        }
        for control in OPTIONAL.iter().filter(|c| c.word == word) {
            let on = value & (1 << control.bit) != 0;
            assert_eq!(
                on,
                allowed.allows(control.bit),
                "{name}: optional {} follows the CPU",
                control.name
            );
        }
    }
    assert!(
        ctl.vpid && ctl.preemption_timer,
        "{name}: Bochs models with EPT have VPID and the timer"
    );
    assert_eq!(ctl.vm_functions, expect_vmfunc, "{name}: VM functions");
    assert_eq!(ctl.secondary.bits() & (1 << 13) != 0, expect_vmfunc);
    // Not wanted: RDTSC exiting (benchmarks read the TSC), MSR bitmaps (all MSR accesses exit).
    assert_eq!(ctl.primary.bits() & ((1 << 12) | (1 << 28)), 0, "{name}");
}

#[test]
fn tigerlake_controls_with_and_without_vm_functions() {
    check("bochs-tigerlake", Request { vm_functions: true }, true);
    check("bochs-tigerlake", Request::default(), false);
}

#[test]
fn skylake_x_controls() {
    check(
        "bochs-corei7_skylake_x",
        Request { vm_functions: true },
        true,
    );
}

#[test]
fn kvm_l1_controls() {
    check(
        "nested-kvm-corei7_skylake_x",
        Request { vm_functions: true },
        true,
    );
}

#[test]
fn ivy_bridge_has_no_vm_functions_even_when_asked() {
    check(
        "bochs-corei7_ivy_bridge_3770k",
        Request { vm_functions: true },
        false,
    );
}

#[test]
fn amd_fixtures_have_no_vmx() {
    assert!(caps("bochs-ryzen").vmx.is_none());
    assert!(caps("qemu-qemu64-svm-npt").vmx.is_none());
}

#[test]
fn eptp_bit_7_follows_cet_shadow_stacks() {
    // Bochs tigerlake accepts EPTP bit 7 (supervisor shadow-stack control); ivy bridge has
    // no CET, so there it is reserved.
    assert!(caps("bochs-tigerlake").cet_ss);
    assert!(!caps("bochs-corei7_ivy_bridge_3770k").cet_ss);
}
