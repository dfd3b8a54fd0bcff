//! One test per EPTP rule of SDM 3C "Checks on VM-Execution Control Fields".

use super::super::{Eptp, EptpError, EptpRules, MemoryType, validate_eptp};

const ROOT: u64 = 0x12_3456_7000;
const ALL: EptpRules = EptpRules {
    wb: true,
    uc: true,
    walk4: true,
    walk5: true,
    ad: true,
    maxphyaddr: 40,
    supervisor_shadow_stack: false,
};
/// WB, 4-level, no A/D.
const GOOD: u64 = ROOT | (3 << 3) | 6;

#[test]
fn encode_layout() {
    let wb4 = Eptp::encode(ROOT, MemoryType::WriteBack, 4, false).map(Eptp::bits);
    assert_eq!(wb4, Ok(GOOD));
    let uc5 = Eptp::encode(ROOT, MemoryType::Uncacheable, 5, true).map(Eptp::bits);
    assert_eq!(uc5, Ok(ROOT | (4 << 3) | (1 << 6)));
    let eptp = Eptp::from_bits(GOOD | (1 << 6));
    assert_eq!(eptp.root(), ROOT);
    assert_eq!(eptp.walk_levels(), 4);
    assert!(eptp.ad_enabled());
    assert_eq!(eptp.memory_type_bits(), 6);
    assert_eq!(eptp.validate(&ALL), Ok(()));
}

#[test]
fn encode_refuses_what_has_no_encoding() {
    let wb = MemoryType::WriteBack;
    let err = Eptp::encode(ROOT, MemoryType::WriteThrough, 4, false);
    assert_eq!(err, Err(EptpError::MemoryTypeReserved { memory_type: 4 }));
    for (levels, encoded) in [(3, 2), (6, 5), (0, 255)] {
        let err = Eptp::encode(ROOT, wb, levels, false);
        let expected = EptpError::WalkLengthReserved {
            walk_length_minus_one: encoded,
        };
        assert_eq!(err, Err(expected));
    }
    let err = Eptp::encode(ROOT + 8, wb, 4, false);
    assert_eq!(err, Err(EptpError::RootMisaligned { root: ROOT + 8 }));
    let err = Eptp::encode(1 << 52, wb, 4, false);
    assert_eq!(err, Err(EptpError::RootOutOfRange { root: 1 << 52 }));
}

#[test]
fn memory_type_must_be_uc_or_wb() {
    for mt in [1u8, 2, 3, 4, 5, 7] {
        let value = (GOOD & !7) | u64::from(mt);
        let err = validate_eptp(value, &ALL);
        assert_eq!(err, Err(EptpError::MemoryTypeReserved { memory_type: mt }));
    }
}

#[test]
fn uc_needs_capability_bit_8() {
    let uc = GOOD & !7;
    assert_eq!(validate_eptp(uc, &ALL), Ok(()));
    let rules = EptpRules { uc: false, ..ALL };
    assert_eq!(
        validate_eptp(uc, &rules),
        Err(EptpError::UncacheableUnsupported)
    );
}

#[test]
fn wb_needs_capability_bit_14() {
    let rules = EptpRules { wb: false, ..ALL };
    assert_eq!(
        validate_eptp(GOOD, &rules),
        Err(EptpError::WriteBackUnsupported)
    );
}

#[test]
fn walk_length_must_be_4_or_5_levels_as_supported() {
    for encoded in [0u8, 1, 2, 5, 6, 7] {
        let value = (GOOD & !(7 << 3)) | (u64::from(encoded) << 3);
        let expected = EptpError::WalkLengthReserved {
            walk_length_minus_one: encoded,
        };
        assert_eq!(validate_eptp(value, &ALL), Err(expected));
    }
    let rules = EptpRules {
        walk4: false,
        ..ALL
    };
    assert_eq!(
        validate_eptp(GOOD, &rules),
        Err(EptpError::FourLevelWalkUnsupported)
    );
    let five = (GOOD & !(7 << 3)) | (4 << 3);
    assert_eq!(validate_eptp(five, &ALL), Ok(()));
    let rules = EptpRules {
        walk5: false,
        ..ALL
    };
    assert_eq!(
        validate_eptp(five, &rules),
        Err(EptpError::FiveLevelWalkUnsupported)
    );
}

#[test]
fn ad_enable_needs_capability_bit_21() {
    let ad = GOOD | (1 << 6);
    assert_eq!(validate_eptp(ad, &ALL), Ok(()));
    let rules = EptpRules { ad: false, ..ALL };
    assert_eq!(
        validate_eptp(ad, &rules),
        Err(EptpError::AccessDirtyUnsupported)
    );
    assert_eq!(validate_eptp(GOOD, &rules), Ok(()));
}

#[test]
fn bits_11_to_7_are_reserved() {
    for bit in 7..=11 {
        let err = validate_eptp(GOOD | (1 << bit), &ALL);
        assert_eq!(err, Err(EptpError::ReservedBitsSet { bits: 1 << bit }));
    }
}

#[test]
fn bits_at_or_above_maxphyaddr_are_reserved() {
    assert_eq!(validate_eptp(GOOD | (1 << 39), &ALL), Ok(()));
    for bit in [40, 51, 52, 63] {
        let err = validate_eptp(GOOD | (1 << bit), &ALL);
        let expected = EptpError::BeyondMaxPhyAddr {
            bits: 1 << bit,
            maxphyaddr: 40,
        };
        assert_eq!(err, Err(expected));
    }
    let wide = EptpRules {
        maxphyaddr: 52,
        ..ALL
    };
    assert_eq!(validate_eptp(GOOD | (1 << 51), &wide), Ok(()));
    assert!(validate_eptp(GOOD | (1 << 52), &wide).is_err());
    // A nonsensical width never makes the check panic.
    let huge = EptpRules {
        maxphyaddr: 200,
        ..ALL
    };
    assert_eq!(validate_eptp(GOOD | (1 << 63), &huge), Ok(()));
}

#[test]
fn an_empty_eptp_list_slot_is_invalid() {
    // VMFUNC-SEMANTICS.md conformance case 6: a zero entry is UC with walk length 1.
    let no_uc = EptpRules { uc: false, ..ALL };
    assert_eq!(
        validate_eptp(0, &no_uc),
        Err(EptpError::UncacheableUnsupported)
    );
    let expected = EptpError::WalkLengthReserved {
        walk_length_minus_one: 0,
    };
    assert_eq!(validate_eptp(0, &ALL), Err(expected));
}

#[test]
fn bit_7_is_reserved_unless_the_cpu_has_cet_shadow_stacks() {
    let bit7 = GOOD | (1 << 7);
    assert!(matches!(
        validate_eptp(bit7, &ALL),
        Err(EptpError::ReservedBitsSet { bits: 0x80 })
    ));
    let cet = EptpRules {
        supervisor_shadow_stack: true,
        ..ALL
    };
    assert_eq!(validate_eptp(bit7, &cet), Ok(()));
    // Bits 11:8 stay reserved either way.
    assert!(validate_eptp(GOOD | (1 << 8), &cet).is_err());
}
