//! One test per VMX decode rule, on synthetic MSR values.

use super::*;
use crate::caps::tests::DumpBuilder;

fn decode(b: DumpBuilder) -> Option<VmxCaps> {
    VmxCaps::decode(&b.build())
}

fn full() -> VmxCaps {
    decode(DumpBuilder::intel_full()).expect("full VMX dump decodes")
}

fn pair(must: u32, may: u32) -> u64 {
    u64::from(may) << 32 | u64::from(must)
}

#[test]
fn basic_fields() {
    let b = VmxBasic::decode(0x00d8_1000_0000_002b);
    assert_eq!(
        (b.revision_id, b.vmcs_size, b.memory_type),
        (0x2b, 0x1000, 6)
    );
    assert!(b.true_controls && b.ins_outs_info);
    let b = VmxBasic::decode(0xFFFF_FFFF);
    assert_eq!(
        b.revision_id, 0x7FFF_FFFF,
        "bit 31 is not part of the revision id"
    );
    let b = VmxBasic::decode(0x003F_FFFF_0000_0000);
    assert_eq!((b.vmcs_size, b.memory_type), (0x1FFF, 0xF));
    assert!(!b.true_controls && !b.ins_outs_info);
}

#[test]
fn allowed_bits_split_and_apply() {
    let a = AllowedBits::from_msr(pair(0x16, 0x7f));
    assert_eq!((a.allowed0, a.allowed1), (0x16, 0x7f));
    assert!(a.requires(1) && !a.requires(0));
    assert!(a.allows(6) && !a.allows(7) && !a.allows(64));
    assert_eq!(a.apply(1 << 6 | 1 << 9), 0x16 | 1 << 6);
    assert!(a.allows_all(0x41) && !a.allows_all(0x80));
}

#[test]
fn true_controls_used_when_basic_bit_55() {
    let v = full();
    assert!(v.controls_from_true_msrs);
    assert_eq!(v.proc.allowed0, 0x0400_6172, "from 0x48E, not 0x482");
    assert_eq!(v.exit.allowed0, 0x0003_6dfb);
    assert_eq!(v.entry.allowed0, 0x0000_11fb);
}

#[test]
fn legacy_controls_without_bit_55() {
    let b = DumpBuilder::intel_full().msr(0x480, 0x0018_1000_0000_0012);
    let v = decode(b).expect("decodes");
    assert!(!v.controls_from_true_msrs && !v.basic.true_controls);
    assert_eq!(v.proc.allowed0, 0x0401_e172);
    assert_eq!(v.pin.allowed0, 0x16);
}

#[test]
fn legacy_controls_when_a_true_msr_faults() {
    let v = decode(DumpBuilder::intel_full().fault(0x48F)).expect("decodes");
    assert!(!v.controls_from_true_msrs && v.basic.true_controls);
    assert_eq!(v.exit.allowed0, 0x0003_6dff);
}

#[test]
fn mandatory_msrs_missing_means_no_vmx() {
    for msr in [
        0x480, 0x481, 0x482, 0x483, 0x484, 0x485, 0x486, 0x487, 0x488, 0x489,
    ] {
        let legacy = DumpBuilder::intel_full().msr(0x480, 0x0018_1000_0000_0012);
        assert_eq!(decode(legacy.fault(msr)), None, "faulting {msr:#x}");
        let legacy = DumpBuilder::intel_full().msr(0x480, 0x0018_1000_0000_0012);
        assert_eq!(decode(legacy.without_msr(msr)), None, "missing {msr:#x}");
    }
}

#[test]
fn proc2_needs_primary_bit_31() {
    let b = DumpBuilder::intel_full().msr(0x48E, pair(0x0400_6172, 0x7ff9_fffe));
    let v = decode(b).expect("decodes");
    assert_eq!(v.proc2, None);
    assert!(!v.ept && !v.vpid && !v.unrestricted_guest && !v.ve && !v.vmfunc_eptp_switching);
    assert_eq!((v.ept_vpid, v.vmfunc), (None, None));
}

#[test]
fn proc2_fault_means_no_secondary_features() {
    let v = decode(DumpBuilder::intel_full().fault(0x48B)).expect("decodes");
    assert_eq!(v.proc2, None);
    assert!(!v.ept && !v.vpid && !v.vmfunc_eptp_switching);
}

#[test]
fn each_secondary_bit() {
    let with =
        |bits: u32| decode(DumpBuilder::intel_full().msr(0x48B, pair(0, bits))).expect("decodes");
    let ept = with(1 << 1);
    assert!(ept.ept && !ept.vpid && ept.ept_vpid.is_some());
    let vpid = with(1 << 5);
    assert!(!vpid.ept && vpid.vpid && vpid.ept_vpid.is_some() && vpid.ept_caps().is_none());
    assert!(with(1 << 7).unrestricted_guest && !with(1 << 6).unrestricted_guest);
    assert!(with(1 << 18).ve && !with(1 << 17).ve);
    let none = with(0);
    assert_eq!(
        none.ept_vpid, None,
        "0x48C is only read when EPT or VPID may be enabled"
    );
    assert_eq!(none.vmfunc, None);
}

#[test]
fn ept_cap_fault_means_no_ept() {
    let v = decode(DumpBuilder::intel_full().fault(0x48C)).expect("decodes");
    assert!(!v.ept && !v.vpid && !v.vmfunc_eptp_switching);
    assert!(
        v.unrestricted_guest,
        "other secondary features are unaffected"
    );
}

#[test]
fn ept_cap_bits() {
    let one = |n: u32| EptVpidCaps::decode(1u64 << n);
    assert!(one(0).execute_only);
    assert!(one(6).walk4 && !one(6).walk5);
    assert!(one(7).walk5);
    assert!(one(8).uc);
    assert!(one(14).wb);
    assert!(one(16).large_2m);
    assert!(one(17).large_1g);
    assert!(one(20).invept);
    assert!(one(21).accessed_dirty);
    assert!(one(25).invept_single);
    assert!(one(26).invept_all);
    assert!(one(32).invvpid);
    let used = [0, 6, 7, 8, 14, 16, 17, 20, 21, 25, 26, 32];
    let others = used.iter().fold(u64::MAX, |m, &b| m & !(1u64 << b));
    assert_eq!(
        EptVpidCaps::decode(others),
        EptVpidCaps {
            raw: others,
            ..EptVpidCaps::default()
        }
    );
    let v = full();
    let e = v.ept_caps().expect("ept");
    assert!(e.walk4 && e.walk5 && e.wb && e.uc && e.large_2m && e.large_1g && e.accessed_dirty);
    assert!(e.execute_only && e.invept && e.invept_single && e.invept_all && e.invvpid);
}

#[test]
fn vmfunc_eptp_switching_rule() {
    assert!(full().vmfunc_eptp_switching);
    assert_eq!(full().vmfunc, Some(1));
    let no_bit0 = decode(DumpBuilder::intel_full().msr(0x491, 0x2)).expect("decodes");
    assert!(!no_bit0.vmfunc_eptp_switching);
    let faulted = decode(DumpBuilder::intel_full().fault(0x491)).expect("decodes");
    assert!(!faulted.vmfunc_eptp_switching && faulted.vmfunc.is_none() && faulted.ept);
    let no_proc2_bit =
        decode(DumpBuilder::intel_full().msr(0x48B, pair(0, 1 << 1 | 1 << 5))).expect("decodes");
    assert!(!no_proc2_bit.vmfunc_eptp_switching && no_proc2_bit.vmfunc.is_none());
    let no_ept =
        decode(DumpBuilder::intel_full().msr(0x48B, pair(0, 1 << 5 | 1 << 13))).expect("decodes");
    assert!(!no_ept.vmfunc_eptp_switching, "EPTP switching needs EPT");
}

#[test]
fn preemption_timer_and_misc() {
    let v = full();
    assert!(v.preemption_timer);
    assert_eq!(v.preemption_timer_rate, 5);
    let b = DumpBuilder::intel_full()
        .msr(0x48D, pair(0x16, 0x3f))
        .msr(0x485, 0xFFFF_FFFF);
    let v = decode(b).expect("decodes");
    assert!(!v.preemption_timer);
    assert_eq!(v.preemption_timer_rate, 0x1F);
}

#[test]
fn fixed_bits() {
    let v = full();
    assert_eq!(
        (v.cr0.fixed0, v.cr0.fixed1, v.cr4.fixed0, v.cr4.fixed1),
        (0x8000_0021, 0xffff_ffff, 0x2000, 0x003f_ffff)
    );
    assert_eq!(v.cr4.apply(0x20), 0x2020);
    assert_eq!(v.cr4.apply(1 << 40), 0x2000);
}

#[test]
fn feature_control_bits() {
    let fc = FeatureControl::decode(5);
    assert!(fc.locked && fc.vmx_outside_smx && !fc.vmx_locked_off());
    assert!(FeatureControl::decode(1).vmx_locked_off());
    assert!(
        !FeatureControl::decode(0).vmx_locked_off(),
        "unlocked: software may enable it"
    );
    assert_eq!(full().feature_control, Some(fc));
    let missing = decode(DumpBuilder::intel_full().fault(0x3A)).expect("decodes");
    assert_eq!(missing.feature_control, None);
}
