//! Entry encodings against the bit layouts of SDM 3C (EPT) and APM Vol. 2 (NPT).

use super::super::{
    EntryFormat, Ept, Leaf, Level, MemoryType, Npt, PageSize, Perms, PermsError, Slot,
};

const HPA_4K: u64 = 0x0000_0012_3456_7000;
const HPA_2M: u64 = 0x0000_0012_3440_0000;
const ALL_TYPES: [MemoryType; 5] = [
    MemoryType::Uncacheable,
    MemoryType::WriteCombining,
    MemoryType::WriteThrough,
    MemoryType::WriteProtected,
    MemoryType::WriteBack,
];

fn all_perms() -> impl Iterator<Item = Perms> {
    (0..8u8).map(|bits| Perms::new(bits & 1 != 0, bits & 2 != 0, bits & 4 != 0))
}

#[test]
fn ept_leaf_bits() {
    let ept = Ept::new(false);
    // R=bit0, W=bit1, X=bit2, WB (6) in bits 5:3.
    let rw = ept.encode_leaf(HPA_4K, PageSize::Size4K, Perms::RW, MemoryType::WriteBack);
    assert_eq!(rw, Ok(HPA_4K | 0b011 | (6 << 3)));
    // 2 MiB: bit 7 set.
    let rx = ept.encode_leaf(HPA_2M, PageSize::Size2M, Perms::RX, MemoryType::Uncacheable);
    assert_eq!(rx, Ok(HPA_2M | 0b101 | (1 << 7)));
    // Non-leaf: R+W+X, nothing else but the address.
    assert_eq!(ept.encode_table(HPA_4K), HPA_4K | 0b111);
}

#[test]
fn ept_refuses_write_without_read_and_unsupported_execute_only() {
    let ept = Ept::new(false);
    let wb = MemoryType::WriteBack;
    for perms in [
        Perms::new(false, true, false),
        Perms::new(false, true, true),
    ] {
        let got = ept.encode_leaf(HPA_4K, PageSize::Size4K, perms, wb);
        assert_eq!(got, Err(PermsError::WriteWithoutRead));
    }
    let got = ept.encode_leaf(HPA_4K, PageSize::Size4K, Perms::X, wb);
    assert_eq!(got, Err(PermsError::ExecuteOnlyUnsupported));
    let got = ept.encode_leaf(HPA_4K, PageSize::Size4K, Perms::NONE, wb);
    assert_eq!(got, Err(PermsError::NoAccess));
}

#[test]
fn ept_execute_only_where_supported() {
    let ept = Ept::new(true);
    let got = ept.encode_leaf(HPA_4K, PageSize::Size4K, Perms::X, MemoryType::WriteBack);
    assert_eq!(got, Ok(HPA_4K | 0b100 | (6 << 3)));
    let slot = ept.decode(got.unwrap_or(0), Level::Pt);
    assert!(matches!(slot, Slot::Leaf(leaf) if leaf.perms == Perms::X));
    // The same entry is a misconfiguration on a CPU without the feature.
    assert_eq!(
        Ept::new(false).decode(got.unwrap_or(0), Level::Pt),
        Slot::Invalid
    );
}

#[test]
fn ept_round_trip_every_valid_leaf() {
    let ept = Ept::new(true);
    for perms in all_perms() {
        for memory_type in ALL_TYPES {
            for (size, hpa, level) in [
                (PageSize::Size4K, HPA_4K, Level::Pt),
                (PageSize::Size2M, HPA_2M, Level::Pd),
            ] {
                let Ok(entry) = ept.encode_leaf(hpa, size, perms, memory_type) else {
                    assert!(!perms.read && (perms.write || !perms.execute));
                    continue;
                };
                let expected = Leaf {
                    hpa,
                    perms,
                    memory_type,
                };
                assert_eq!(ept.decode(entry, level), Slot::Leaf(expected));
            }
        }
    }
}

#[test]
fn ept_decode_rejects_what_the_builder_never_writes() {
    let ept = Ept::new(false);
    assert_eq!(ept.decode(0, Level::Pml4), Slot::Empty);
    // Bits 2:0 = 0: not present whatever else is set (accessed flag here).
    assert_eq!(ept.decode(HPA_4K | (1 << 8), Level::Pt), Slot::Empty);
    // Reserved memory types 2, 3, 7 in a leaf.
    for mt in [2u64, 3, 7] {
        assert_eq!(
            ept.decode(HPA_4K | 0b111 | (mt << 3), Level::Pt),
            Slot::Invalid
        );
    }
    // A 2 MiB leaf with bits 20:12 set.
    let leaf = HPA_2M | 0b111 | (6 << 3) | (1 << 7) | (1 << 12);
    assert_eq!(ept.decode(leaf, Level::Pd), Slot::Invalid);
    // A 1 GiB page.
    assert_eq!(
        ept.decode(HPA_2M | 0b111 | (1 << 7), Level::Pdpt),
        Slot::Invalid
    );
    // A non-leaf entry that restricts access or has reserved bits 7:3 set.
    assert_eq!(ept.decode(HPA_4K | 0b011, Level::Pml4), Slot::Invalid);
    assert_eq!(
        ept.decode(HPA_4K | 0b111 | (1 << 3), Level::Pdpt),
        Slot::Invalid
    );
    // Accessed/dirty flags set by the CPU are fine.
    let table = HPA_4K | 0b111 | (1 << 8);
    assert_eq!(ept.decode(table, Level::Pd), Slot::Table(HPA_4K));
}

#[test]
fn npt_leaf_bits() {
    const NX: u64 = 1 << 63;
    // P=bit0, R/W=bit1, U/S=bit2, NX=bit63; WB is PAT index 0.
    let got = Npt.encode_leaf(HPA_4K, PageSize::Size4K, Perms::RW, MemoryType::WriteBack);
    assert_eq!(got, Ok(HPA_4K | 0b111 | NX));
    let got = Npt.encode_leaf(HPA_4K, PageSize::Size4K, Perms::RX, MemoryType::WriteBack);
    assert_eq!(got, Ok(HPA_4K | 0b101));
    // 2 MiB: PS (bit 7).
    let got = Npt.encode_leaf(HPA_2M, PageSize::Size2M, Perms::R, MemoryType::WriteBack);
    assert_eq!(got, Ok(HPA_2M | 0b101 | (1 << 7) | NX));
    // UC = PAT index 3 (PCD|PWT), WT = index 1 (PWT).
    let got = Npt.encode_leaf(
        HPA_4K,
        PageSize::Size4K,
        Perms::RWX,
        MemoryType::Uncacheable,
    );
    assert_eq!(got, Ok(HPA_4K | 0b111 | 0b11000));
    let got = Npt.encode_leaf(
        HPA_4K,
        PageSize::Size4K,
        Perms::RWX,
        MemoryType::WriteThrough,
    );
    assert_eq!(got, Ok(HPA_4K | 0b111 | 0b01000));
    // Non-leaf: present, writable, user, executable.
    assert_eq!(Npt.encode_table(HPA_4K), HPA_4K | 0b111);
}

#[test]
fn npt_every_entry_has_user_bit() {
    assert_ne!(Npt.encode_table(0) & 0b100, 0);
    for perms in all_perms() {
        for size in [PageSize::Size4K, PageSize::Size2M] {
            if let Ok(entry) = Npt.encode_leaf(HPA_2M, size, perms, MemoryType::WriteBack) {
                assert_ne!(entry & 0b100, 0, "{perms:?} {size:?}");
            }
        }
    }
}

#[test]
fn npt_refuses_rights_without_read() {
    let wb = MemoryType::WriteBack;
    let check = |perms| Npt.check(perms, wb);
    assert_eq!(check(Perms::X), Err(PermsError::ReadNotOptional));
    assert_eq!(
        check(Perms::new(false, true, false)),
        Err(PermsError::WriteWithoutRead)
    );
    assert_eq!(
        check(Perms::new(false, true, true)),
        Err(PermsError::WriteWithoutRead)
    );
    assert_eq!(check(Perms::NONE), Err(PermsError::NoAccess));
    for wc_or_wp in [MemoryType::WriteCombining, MemoryType::WriteProtected] {
        let got = Npt.check(Perms::RW, wc_or_wp);
        assert_eq!(got, Err(PermsError::MemoryTypeNotRepresentable(wc_or_wp)));
    }
}

#[test]
fn npt_round_trip_every_valid_leaf() {
    for perms in all_perms().filter(|p| p.read) {
        for memory_type in [
            MemoryType::WriteBack,
            MemoryType::WriteThrough,
            MemoryType::Uncacheable,
        ] {
            for (size, hpa, level) in [
                (PageSize::Size4K, HPA_4K, Level::Pt),
                (PageSize::Size2M, HPA_2M, Level::Pd),
            ] {
                let entry = Npt.encode_leaf(hpa, size, perms, memory_type);
                let expected = Leaf {
                    hpa,
                    perms,
                    memory_type,
                };
                let decoded = entry.map(|entry| Npt.decode(entry, level));
                assert_eq!(decoded, Ok(Slot::Leaf(expected)));
            }
        }
    }
}

#[test]
fn npt_decode_rejects_what_the_builder_never_writes() {
    assert_eq!(Npt.decode(HPA_4K | 0b110, Level::Pt), Slot::Empty);
    // U/S = 0.
    assert_eq!(Npt.decode(HPA_4K | 0b011, Level::Pt), Slot::Invalid);
    assert_eq!(Npt.decode(HPA_4K | 0b011, Level::Pml4), Slot::Invalid);
    // A 1 GiB page.
    assert_eq!(
        Npt.decode(HPA_2M | 0b111 | (1 << 7), Level::Pdpt),
        Slot::Invalid
    );
    // Reserved bits 20:13 of a 2 MiB page.
    let leaf = HPA_2M | 0b111 | (1 << 7) | (1 << 13);
    assert_eq!(Npt.decode(leaf, Level::Pd), Slot::Invalid);
    // A non-leaf entry that is read-only or non-executable.
    assert_eq!(Npt.decode(HPA_4K | 0b101, Level::Pdpt), Slot::Invalid);
    assert_eq!(
        Npt.decode(HPA_4K | 0b111 | (1 << 63), Level::Pd),
        Slot::Invalid
    );
}
