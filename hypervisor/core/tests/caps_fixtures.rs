//! Capability decoding against `@@RAW` dumps recorded from real emulator boots.
//!
//! Each fixture in `tests/fixtures/caps/` is a whole serial transcript of one boot; only its
//! `@@RAW` lines matter. Expectations come from DESIGN.md §8 and EMULATORS.md.

use std::path::PathBuf;
use tessera_core::caps::{
    Capabilities, MsrFault, RawDump, Vendor, cpuid_leaves_to_read, msrs_to_read,
};

fn fixture_text(name: &str) -> String {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "fixtures",
        "caps",
        &format!("{name}.txt"),
    ]
    .iter()
    .collect();
    match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => panic!(
            "fixture {} unreadable ({e}): record it from a real boot",
            path.display()
        ),
    }
}

fn load(name: &str) -> (RawDump, Capabilities) {
    let dump = match RawDump::parse(&fixture_text(name)) {
        Ok(d) => d,
        Err(e) => panic!("fixture {name}: {e}"),
    };
    let caps = Capabilities::decode(&dump);
    (dump, caps)
}

fn cap(caps: &Capabilities, name: &str) -> String {
    match caps.cap_lines().into_iter().find(|(k, _)| *k == name) {
        Some((_, v)) => v,
        None => panic!("no @@CAP {name}"),
    }
}

/// Asserts `name=value` for each pair.
fn expect(caps: &Capabilities, pairs: &[(&str, &str)]) {
    for (name, want) in pairs {
        assert_eq!(cap(caps, name), *want, "@@CAP {name}");
    }
}

/// The dump holds what the probe plan asked for, round-trips, and decodes into cap lines
/// whose first names are the fixed ones.
fn check_common(name: &str) -> (RawDump, Capabilities) {
    let (dump, caps) = load(name);
    assert!(!dump.cpuid.is_empty(), "{name}: no @@RAW cpuid lines");
    let again = RawDump::parse(&dump.to_lines().join("\n"));
    assert_eq!(
        again.as_ref(),
        Ok(&dump),
        "{name}: to_lines/parse round trip"
    );

    let max_basic = dump.cpuid(0, 0).map_or(0, |r| r.eax);
    let max_ext = dump.cpuid(0x8000_0000, 0).map_or(0, |r| r.eax);
    for (leaf, sub) in cpuid_leaves_to_read(max_basic, max_ext) {
        assert!(
            dump.cpuid(leaf, sub).is_some(),
            "{name}: planned cpuid {leaf:#x}/{sub} not recorded"
        );
    }
    for msr in msrs_to_read(&dump) {
        assert!(
            dump.msr(msr).is_some(),
            "{name}: planned msr {msr:#x} not recorded"
        );
    }

    let names: Vec<&str> = caps.cap_lines().iter().map(|(k, _)| *k).collect();
    let first = [
        "vendor",
        "vmx",
        "ept",
        "vpid",
        "vmfunc.eptp_switching",
        "svm",
        "svm.npt",
        "svm.nrips",
    ];
    assert_eq!(
        names.get(..first.len()),
        Some(&first[..]),
        "{name}: cap line order"
    );
    assert!(caps.report_lines().iter().all(|l| !l.starts_with("@@")));
    (dump, caps)
}

const INTEL_VMFUNC: &[(&str, &str)] = &[
    ("vendor", "intel"),
    ("vmx", "1"),
    ("ept", "1"),
    ("vpid", "1"),
    ("vmfunc.eptp_switching", "1"),
    ("svm", "0"),
    ("svm.npt", "0"),
    ("svm.nrips", "0"),
];

#[test]
fn bochs_tigerlake() {
    let (_, caps) = check_common("bochs-tigerlake");
    assert_eq!(caps.vendor, Vendor::Intel);
    expect(&caps, INTEL_VMFUNC);
    expect(
        &caps,
        &[
            ("vmx.unrestricted", "1"),
            ("vmx.ve", "1"),
            ("ept.walk4", "1"),
            ("ept.ad", "1"),
        ],
    );
}

#[test]
fn bochs_skylake_x() {
    let (dump, caps) = check_common("bochs-corei7_skylake_x");
    expect(&caps, INTEL_VMFUNC);
    let vmx = caps.vmx.expect("skylake_x has VMX");
    assert_eq!(vmx.basic.revision_id, 0x2b);
    assert!(vmx.basic.true_controls && vmx.controls_from_true_msrs);
    assert_eq!(vmx.vmfunc, Some(1));
    assert_eq!(dump.msr_value(0x491), Some(1));
    expect(
        &caps,
        &[
            ("vmx.revision", "0x2b"),
            ("vmx.true_controls", "1"),
            ("vmx.unrestricted", "1"),
            ("vmx.ve", "1"),
            ("ept.walk4", "1"),
            ("ept.wb", "1"),
            ("ept.uc", "1"),
            ("ept.2m", "1"),
            ("ept.1g", "1"),
            ("ept.ad", "1"),
            ("ept.execute_only", "1"),
            ("ept.invept", "1"),
        ],
    );
    let fc = vmx.feature_control.expect("IA32_FEATURE_CONTROL recorded");
    assert!(
        fc.locked && fc.vmx_outside_smx,
        "Bochs' BIOS locks it with VMX enabled"
    );
}

/// What Linux KVM 6.1 (`kvm_intel nested=1`, QEMU `-cpu host`) shows its L1 on Bochs
/// `corei7_skylake_x`: KVM's VMCS12 revision, no EPT-violation #VE, no UC EPT memory type,
/// VMFUNC with EPTP switching (performed by KVM in L0), the preemption timer at rate 5.
#[test]
fn kvm_l1_on_skylake_x() {
    let (dump, caps) = check_common("nested-kvm-corei7_skylake_x");
    expect(&caps, INTEL_VMFUNC);
    let vmx = caps.vmx.expect("KVM exposes VMX to its L1");
    assert_eq!(vmx.basic.revision_id, 0x11e5_7ed0, "KVM's VMCS12_REVISION");
    assert!(vmx.basic.true_controls && vmx.controls_from_true_msrs);
    assert_eq!(vmx.vmfunc, Some(1));
    assert!(!vmx.ve, "KVM does not expose EPT-violation #VE to L1");
    assert_eq!(vmx.preemption_timer_rate, 5);
    assert_eq!(dump.msr_value(0x48c), Some(0x0000_0f01_0633_4041));
    expect(
        &caps,
        &[
            ("vmx.revision", "0x11e57ed0"),
            ("vmx.ve", "0"),
            ("vmx.preemption_timer", "1"),
            ("ept.wb", "1"),
            ("ept.uc", "0"),
            ("ept.ad", "1"),
            ("ept.execute_only", "1"),
        ],
    );
}

#[test]
fn bochs_ivy_bridge() {
    let (dump, caps) = check_common("bochs-corei7_ivy_bridge_3770k");
    expect(
        &caps,
        &[
            ("vendor", "intel"),
            ("vmx", "1"),
            ("ept", "1"),
            ("vmfunc.eptp_switching", "0"),
            ("svm", "0"),
            ("ept.1g", "0"),
            ("ept.ad", "0"),
        ],
    );
    let vmfunc = dump.msr(0x491).map(|r| r.value);
    assert_eq!(
        vmfunc,
        Some(Err(MsrFault::Gp)),
        "MSR 0x491 must be recorded as #GP"
    );
    assert_eq!(caps.vmx.and_then(|v| v.vmfunc), None);
}

#[test]
fn bochs_ryzen() {
    let (dump, caps) = check_common("bochs-ryzen");
    assert_eq!(caps.vendor, Vendor::Amd);
    expect(
        &caps,
        &[
            ("vendor", "amd"),
            ("svm", "1"),
            ("svm.npt", "1"),
            ("svm.nrips", "1"),
            ("vmx", "0"),
        ],
    );
    assert!(dump.msr(0xC001_0114).is_some(), "VM_CR recorded");
    assert!(!caps.svm.expect("svm").svm_disabled_by_vm_cr);
}

#[test]
fn qemu_qemu64_svm_npt() {
    let (_, caps) = check_common("qemu-qemu64-svm-npt");
    expect(
        &caps,
        &[
            ("vendor", "amd"),
            ("vmx", "0"),
            ("svm", "1"),
            ("svm.npt", "1"),
            ("svm.nrips", "0"),
            ("svm.asids", "16"),
        ],
    );
    assert_eq!(caps.svm.map(|s| s.revision), Some(1));
}
