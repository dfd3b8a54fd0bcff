use super::controls::*;
use crate::caps::{CpuidRecord, MsrRecord, RawDump, VmxCaps};
use alloc::vec;
use alloc::vec::Vec;

/// A VMX dump whose control MSRs allow everything except the bits in `deny_*`, with
/// `must_*` forced to 1.
fn caps_with(deny_proc: u32, deny_proc2: u32, must_pin: u32, vmfunc: bool) -> VmxCaps {
    let pair = |must: u32, deny: u32| (u64::from(!deny) << 32) | u64::from(must);
    let msrs: Vec<(u32, u64)> = vec![
        (0x3A, 0x5),
        (0x480, (1 << 55) | (6 << 50) | (0x1000 << 32) | 0x2b),
        (0x481, pair(0x16, 0)),
        (0x482, pair(0x0401_e172, deny_proc)),
        (0x483, pair(0x0003_6dff, 0)),
        (0x484, pair(0x11ff, 0)),
        (0x485, 0x5),
        (0x486, 0x8000_0021),
        (0x487, 0xffff_ffff),
        (0x488, 0x2000),
        (0x489, 0x003f_ffff),
        (0x48B, pair(0, deny_proc2)),
        (0x48C, 0x0000_0f01_0633_4141),
        (0x48D, pair(must_pin, 0)),
        (0x48E, pair(0x0400_6172, deny_proc)),
        (0x48F, pair(0x0003_6dfb, 0)),
        (0x490, pair(0x11fb, 0)),
        (0x491, u64::from(vmfunc)),
    ];
    let dump = RawDump {
        cpuid: vec![
            CpuidRecord {
                leaf: 0,
                subleaf: 0,
                eax: 0xd,
                ebx: 0x756e_6547,
                ecx: 0x6c65_746e,
                edx: 0x4965_6e69,
            },
            CpuidRecord {
                leaf: 1,
                subleaf: 0,
                eax: 0,
                ebx: 0,
                ecx: 1 << 5,
                edx: 0,
            },
        ],
        msrs: msrs
            .into_iter()
            .map(|(index, v)| MsrRecord {
                index,
                value: Ok(v),
            })
            .collect(),
    };
    VmxCaps::decode(&dump).expect("complete VMX dump decodes")
}

#[test]
fn everything_allowed_gives_required_and_optional_controls() {
    let caps = caps_with(0, 0, 0, true);
    let ctl = compute(&caps, Request { vm_functions: true }).expect("all controls allowed");
    for control in REQUIRED.iter().chain(OPTIONAL) {
        let word = match control.word {
            Word::Pin => ctl.pin.bits(),
            Word::Primary => ctl.primary.bits(),
            Word::Secondary => ctl.secondary.bits(),
            Word::Exit => ctl.exit.bits(),
            Word::Entry => ctl.entry.bits(),
        };
        assert_ne!(word & (1 << control.bit), 0, "{} not set", control.name);
    }
    assert!(ctl.preemption_timer && ctl.vpid && ctl.vm_functions);
    assert_ne!(ctl.secondary.bits() & (1 << 13), 0);
}

#[test]
fn must_be_one_bits_are_kept_and_unwanted_bits_stay_clear() {
    let caps = caps_with(0, 0, 1 << 4, false);
    let ctl = compute(&caps, Request::default()).expect("allowed");
    assert_ne!(
        ctl.pin.bits() & (1 << 4),
        0,
        "allowed-0 bit 4 must be forced to 1"
    );
    // RDTSC exiting (bit 12) and MSR bitmaps (bit 28) are not wanted and not forced.
    assert_eq!(ctl.primary.bits() & (1 << 12), 0);
    assert_eq!(ctl.primary.bits() & (1 << 28), 0);
    assert!(!ctl.vm_functions, "VM functions off unless requested");
    assert_eq!(ctl.secondary.bits() & (1 << 13), 0);
}

#[test]
fn vm_functions_need_the_cpu_even_when_requested() {
    let caps = caps_with(0, 0, 0, false);
    let ctl = compute(&caps, Request { vm_functions: true }).expect("allowed");
    assert!(!ctl.vm_functions);
    assert_eq!(ctl.secondary.bits() & (1 << 13), 0);
}

#[test]
fn optional_controls_drop_out_quietly() {
    let caps = caps_with(0, 1 << 5, 0, false);
    let ctl = compute(&caps, Request::default()).expect("VPID is optional");
    assert!(!ctl.vpid);
    assert_eq!(ctl.secondary.bits() & (1 << 5), 0);
}

#[test]
fn every_missing_required_control_is_named() {
    let caps = caps_with((1 << 24) | (1 << 7), 1 << 1, 0, false);
    let err = compute(&caps, Request::default()).expect_err("EPT, HLT and I/O exiting missing");
    let names: Vec<&str> = err.0.iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        ["HLT exiting", "unconditional I/O exiting", "enable EPT"]
    );
    let text = alloc::format!("{err}");
    assert!(text.contains("enable EPT (Secondary bit 1)"), "{text}");
}

#[test]
fn control_bits_are_the_sdm_positions() {
    // (word, bit) as SDM 3C Tables 25-5/6/7/13/15 give them, spelled as numbers.
    let expected = [
        (EXTERNAL_INTERRUPT_EXITING, Word::Pin, 0),
        (NMI_EXITING, Word::Pin, 3),
        (PREEMPTION_TIMER, Word::Pin, 6),
        (HLT_EXITING, Word::Primary, 7),
        (INVLPG_EXITING, Word::Primary, 9),
        (MWAIT_EXITING, Word::Primary, 10),
        (RDPMC_EXITING, Word::Primary, 11),
        (CR3_LOAD_EXITING, Word::Primary, 15),
        (CR8_LOAD_EXITING, Word::Primary, 19),
        (MOV_DR_EXITING, Word::Primary, 23),
        (UNCONDITIONAL_IO_EXITING, Word::Primary, 24),
        (MONITOR_EXITING, Word::Primary, 29),
        (SECONDARY_CONTROLS, Word::Primary, 31),
        (ENABLE_EPT, Word::Secondary, 1),
        (DESCRIPTOR_TABLE_EXITING, Word::Secondary, 2),
        (ENABLE_VPID, Word::Secondary, 5),
        (WBINVD_EXITING, Word::Secondary, 6),
        (ENABLE_VM_FUNCTIONS, Word::Secondary, 13),
        (HOST_ADDRESS_SPACE_SIZE, Word::Exit, 9),
        (SAVE_IA32_EFER, Word::Exit, 20),
        (LOAD_HOST_IA32_EFER, Word::Exit, 21),
        (IA32E_MODE_GUEST, Word::Entry, 9),
        (LOAD_GUEST_IA32_EFER, Word::Entry, 15),
    ];
    for (control, word, bit) in expected {
        assert_eq!((control.word, control.bit), (word, bit), "{}", control.name);
    }
    assert_eq!(SecondaryControls::ENABLE_VM_FUNCTIONS.bits(), 1 << 13);
    assert_eq!(PrimaryControls::RDTSC_EXITING.bits(), 1 << 12);
    assert_eq!(PrimaryControls::USE_MSR_BITMAPS.bits(), 1 << 28);
}

#[test]
fn default_one_bits_the_crate_does_not_name_survive() {
    // Allowed-0 bit 4 of the pin-based word has no name here; the word keeps it.
    let caps = caps_with(0, 0, 1 << 4, false);
    let ctl = compute(&caps, Request::default()).expect("allowed");
    assert_eq!(ctl.pin.bits() & (1 << 4), 1 << 4);
}
