//! Boot the kernel on each engine/CPU and check the capabilities it reports and that the
//! boot passes. Bochs runs take a few seconds each; QEMU under a second.

use tessera_scenarios::{assert_caps, assert_passed, bochs, boot, qemu};

#[test]
fn bochs_tigerlake_has_vmx_ept_and_vmfunc() {
    let outcome = boot(bochs("tigerlake"), "");
    assert_caps(
        &outcome,
        &[
            ("vendor", "intel"),
            ("vmx", "1"),
            ("ept", "1"),
            ("vpid", "1"),
            ("vmfunc.eptp_switching", "1"),
            ("svm", "0"),
            ("vmx.vmxon", "1"),
        ],
    );
    assert_passed(&outcome);
}

#[test]
fn bochs_ivy_bridge_has_vmx_without_vmfunc() {
    let outcome = boot(bochs("corei7_ivy_bridge_3770k"), "");
    assert_caps(
        &outcome,
        &[
            ("vmx", "1"),
            ("ept", "1"),
            ("vmfunc.eptp_switching", "0"),
            ("vmx.vmxon", "1"),
        ],
    );
    assert_passed(&outcome);
}

#[test]
fn bochs_ryzen_has_svm_with_npt() {
    let outcome = boot(bochs("ryzen"), "");
    assert_caps(
        &outcome,
        &[
            ("vendor", "amd"),
            ("vmx", "0"),
            ("svm", "1"),
            ("svm.npt", "1"),
            ("svm.nrips", "1"),
        ],
    );
    assert_passed(&outcome);
}

#[test]
fn qemu_tcg_has_svm_npt_without_nrip_save() {
    let outcome = boot(qemu("qemu64,+svm,+npt"), "");
    assert_caps(
        &outcome,
        &[("svm", "1"), ("svm.npt", "1"), ("svm.nrips", "0")],
    );
    assert_passed(&outcome);
}
