//! Tests of the probe plan, vendor/address-width decoding and the `@@CAP` lines, plus the
//! synthetic dump builder the VMX tests share.

use super::*;
use alloc::string::String;
use alloc::vec;

/// Builds synthetic dumps one record at a time.
pub(super) struct DumpBuilder(pub(super) RawDump);

impl DumpBuilder {
    pub(super) fn new() -> Self {
        DumpBuilder(RawDump::default())
    }

    pub(super) fn cpuid(mut self, leaf: u32, eax: u32, ebx: u32, ecx: u32, edx: u32) -> Self {
        self.0.cpuid.push(CpuidRecord {
            leaf,
            subleaf: 0,
            eax,
            ebx,
            ecx,
            edx,
        });
        self
    }

    /// Leaf 0 with this vendor string and maximum basic leaf 0xD.
    pub(super) fn vendor(self, id: &[u8; 12]) -> Self {
        let reg = |i: usize| {
            id.get(i..i + 4)
                .map_or(0, |b| b.iter().rev().fold(0, |a, &x| a << 8 | u32::from(x)))
        };
        self.cpuid(0, 0xD, reg(0), reg(8), reg(4))
    }

    pub(super) fn msr(mut self, index: u32, value: u64) -> Self {
        self.0.msrs.retain(|r| r.index != index);
        self.0.msrs.push(MsrRecord {
            index,
            value: Ok(value),
        });
        self
    }

    pub(super) fn fault(mut self, index: u32) -> Self {
        self.0.msrs.retain(|r| r.index != index);
        self.0.msrs.push(MsrRecord {
            index,
            value: Err(MsrFault::Gp),
        });
        self
    }

    pub(super) fn without_msr(mut self, index: u32) -> Self {
        self.0.msrs.retain(|r| r.index != index);
        self
    }

    pub(super) fn build(self) -> RawDump {
        self.0
    }

    /// An Intel CPU with VMX and every feature Tessera looks at.
    pub(super) fn intel_full() -> Self {
        let pair = |must: u32, may: u32| u64::from(may) << 32 | u64::from(must);
        DumpBuilder::new()
            .vendor(b"GenuineIntel")
            .cpuid(1, 0x000306a9, 0, 1 << 5, 0)
            .cpuid(0x8000_0000, 0x8000_0008, 0, 0, 0)
            .cpuid(0x8000_0008, 0x3027, 0, 0, 0)
            .msr(0x3A, 5)
            // Revision 0x12, 4096-byte VMCS, write-back, INS/OUTS info, TRUE controls.
            .msr(0x480, 1 << 55 | 1 << 54 | 6 << 50 | 0x1000 << 32 | 0x12)
            .msr(0x481, pair(0x16, 0x7f))
            .msr(0x482, pair(0x0401_e172, 0xfff9_fffe))
            .msr(0x483, pair(0x0003_6dff, 0x003f_ffff))
            .msr(0x484, pair(0x0000_11ff, 0x0000_ffff))
            .msr(0x485, 0x0300_01e5)
            .msr(0x486, 0x8000_0021)
            .msr(0x487, 0xffff_ffff)
            .msr(0x488, 0x2000)
            .msr(0x489, 0x003f_ffff)
            .msr(0x48B, pair(0, 1 << 1 | 1 << 5 | 1 << 7 | 1 << 13 | 1 << 18))
            .msr(0x48C, 0x0000_0f01_0633_4141 | 1 << 7)
            .msr(0x48D, pair(0x16, 0x7f))
            .msr(0x48E, pair(0x0400_6172, 0xfff9_fffe))
            .msr(0x48F, pair(0x0003_6dfb, 0x003f_ffff))
            .msr(0x490, pair(0x0000_11fb, 0x0000_ffff))
            .msr(0x491, 1)
    }
}

#[test]
fn probe_plan_filters_by_maxima() {
    assert_eq!(cpuid_leaves_to_read(0xD, 0x8000_000A), CPUID_LEAVES);
    assert_eq!(
        cpuid_leaves_to_read(1, 0x8000_0008),
        vec![
            (0, 0),
            (1, 0),
            (0x8000_0000, 0),
            (0x8000_0001, 0),
            (0x8000_0008, 0)
        ]
    );
    assert_eq!(cpuid_leaves_to_read(0, 0), vec![(0, 0), (0x8000_0000, 0)]);
    assert_eq!(
        cpuid_leaves_to_read(7, 0x0000_0007),
        vec![(0, 0), (1, 0), (7, 0), (0x8000_0000, 0)]
    );
    assert_eq!(cpuid_leaves_to_read(u32::MAX, u32::MAX), CPUID_LEAVES);
}

#[test]
fn msr_plan_follows_feature_bits() {
    let intel = DumpBuilder::intel_full().build();
    let mut want = vec![0x3A];
    want.extend(0x480..=0x491);
    assert_eq!(msrs_to_read(&intel), want);
    assert_eq!(want.len(), 19);

    let amd = DumpBuilder::new()
        .vendor(b"AuthenticAMD")
        .cpuid(0x8000_0001, 0, 0, 1 << 2, 0)
        .build();
    assert_eq!(msrs_to_read(&amd), vec![0xC000_0080, 0xC001_0114]);

    let plain = DumpBuilder::new()
        .vendor(b"GenuineIntel")
        .cpuid(1, 0, 0, !(1 << 5), 0)
        .build();
    assert!(msrs_to_read(&plain).is_empty());
    assert!(msrs_to_read(&RawDump::default()).is_empty());
}

#[test]
fn vendor_and_maxphyaddr() {
    let caps = |b: DumpBuilder| Capabilities::decode(&b.build());
    let intel = caps(DumpBuilder::new().vendor(b"GenuineIntel"));
    assert_eq!(
        (intel.vendor, intel.maxphyaddr, &intel.vendor_id),
        (Vendor::Intel, 36, b"GenuineIntel")
    );
    assert_eq!(
        caps(DumpBuilder::new().vendor(b"AuthenticAMD")).vendor,
        Vendor::Amd
    );
    assert_eq!(
        caps(DumpBuilder::new().vendor(b"HygonGenuine")).vendor,
        Vendor::Other
    );
    assert_eq!(caps(DumpBuilder::new()).vendor, Vendor::Other);
    let width = |eax| caps(DumpBuilder::new().cpuid(0x8000_0008, eax, 0, 0, 0)).maxphyaddr;
    assert_eq!(width(0x3027), 39);
    assert_eq!(width(0x3000), 36, "zero width means unknown");
    assert_eq!(width(0xFF), 52, "clamped to the architectural maximum");
}

#[test]
fn no_virtualization_at_all() {
    let c = Capabilities::decode(
        &DumpBuilder::new()
            .vendor(b"GenuineIntel")
            .cpuid(1, 0, 0, 0, 0)
            .build(),
    );
    assert_eq!((c.vmx, c.svm), (None, None));
    let names: Vec<&str> = c.cap_lines().iter().map(|(k, _)| *k).collect();
    assert_eq!(
        names,
        [
            "vendor",
            "vmx",
            "ept",
            "vpid",
            "vmfunc.eptp_switching",
            "svm",
            "svm.npt",
            "svm.nrips",
            "maxphyaddr"
        ]
    );
    assert!(c.cap_lines().iter().skip(1).take(7).all(|(_, v)| v == "0"));
}

#[test]
fn vmx_bit_without_msrs_is_no_vmx() {
    let d = DumpBuilder::new()
        .vendor(b"GenuineIntel")
        .cpuid(1, 0, 0, 1 << 5, 0)
        .build();
    assert_eq!(Capabilities::decode(&d).vmx, None);
}

#[test]
fn cap_lines_for_full_intel() {
    let c = Capabilities::decode(&DumpBuilder::intel_full().build());
    let lines = c.cap_transcript();
    let expect = [
        "@@CAP vendor=intel",
        "@@CAP vmx=1",
        "@@CAP ept=1",
        "@@CAP vpid=1",
        "@@CAP vmfunc.eptp_switching=1",
        "@@CAP svm=0",
        "@@CAP svm.npt=0",
        "@@CAP svm.nrips=0",
        "@@CAP maxphyaddr=39",
        "@@CAP vmx.revision=0x12",
        "@@CAP vmx.true_controls=1",
        "@@CAP vmx.unrestricted=1",
        "@@CAP vmx.ve=1",
        "@@CAP vmx.preemption_timer=1",
        "@@CAP ept.walk4=1",
        "@@CAP ept.wb=1",
        "@@CAP ept.uc=1",
        "@@CAP ept.2m=1",
        "@@CAP ept.1g=1",
        "@@CAP ept.ad=1",
        "@@CAP ept.execute_only=1",
        "@@CAP ept.invept=1",
    ];
    assert_eq!(lines, expect);
    let report = c.report_lines();
    assert!(report.iter().all(|l| !l.starts_with("@@")));
    assert!(report.iter().any(|l| l.contains("GenuineIntel")));
    assert!(report.iter().any(|l| l.contains("eptp switching yes")));
}

#[test]
fn cap_lines_for_amd() {
    let d = DumpBuilder::new()
        .vendor(b"AuthenticAMD")
        .cpuid(0x8000_0001, 0, 0, 1 << 2, 0)
        .cpuid(0x8000_000A, 1, 16, 0, 1 | 1 << 6)
        .msr(0xC001_0114, 0x10)
        .build();
    let c = Capabilities::decode(&d);
    let get = |name: &str| {
        c.cap_lines()
            .into_iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    };
    assert_eq!(get("vendor"), Some(String::from("amd")));
    assert_eq!(get("svm"), Some(String::from("1")));
    assert_eq!(get("svm.npt"), Some(String::from("1")));
    assert_eq!(get("svm.nrips"), Some(String::from("0")));
    assert_eq!(get("svm.asids"), Some(String::from("16")));
    assert_eq!(get("svm.flush_by_asid"), Some(String::from("1")));
    assert_eq!(get("vmx"), Some(String::from("0")));
    assert_eq!(get("ept.walk4"), None);
    let report = c.report_lines();
    assert!(
        report
            .iter()
            .any(|l| l.contains("SVM DISABLED BY FIRMWARE"))
    );
    assert!(report.iter().all(|l| !l.starts_with("@@")));
}

#[test]
fn report_survives_odd_vendor_bytes() {
    let d = DumpBuilder::new().cpuid(0, 0, 0x00ff_0a41, 0, 0).build();
    let c = Capabilities::decode(&d);
    assert!(
        c.report_lines()
            .iter()
            .all(|l| !l.starts_with("@@") && !l.contains('\n'))
    );
}
