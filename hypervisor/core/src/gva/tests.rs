use super::*;
use crate::guest::{self, IDENTITY_LIMIT, PAGE_TABLE_PAGES, PAGE_TABLES_GPA};
use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

// The entry bits spelled as numbers (SDM 3A §4.5), independently of `PageTableFlags`.
const P: u64 = 1 << 0;
const RW: u64 = 1 << 1;
const PS: u64 = 1 << 7;
const XD: u64 = 1 << 63;

/// Guest-physical memory holding only the given tables.
fn memory(tables: &[(u64, [u64; 512])]) -> impl Fn(u64) -> Option<u64> + '_ {
    move |gpa| {
        let (base, table) = tables
            .iter()
            .find(|(b, _)| (*b..*b + 4096).contains(&gpa))?;
        (gpa % 8 == 0).then(|| table[((gpa - base) / 8) as usize])
    }
}

#[test]
fn the_guest_tables_map_identity_except_themselves() {
    let tables = guest::page_tables();
    let read = memory(&tables);
    for gva in [
        0,
        0x1000,
        PAGE_TABLES_GPA - 1,
        guest::GDT_GPA,
        0x1F_FFFF,
        0x20_0000,
        0x0100_0000 + 0x1234,
        IDENTITY_LIMIT - 1,
    ] {
        let m = translate(&read, PAGE_TABLES_GPA, gva).expect("mapped");
        assert_eq!(m.gpa, gva, "{gva:#x}");
        assert!(m.writable && m.executable, "{gva:#x}");
        let expected_size = if gva < 0x20_0000 { 0x1000 } else { 0x20_0000 };
        assert_eq!(m.page_size, expected_size, "{gva:#x}");
    }
    // The tables' own pages: no guest-virtual address.
    for page in 0..PAGE_TABLE_PAGES {
        let gva = PAGE_TABLES_GPA + page * 0x1000 + 8;
        assert_eq!(
            translate(&read, PAGE_TABLES_GPA, gva),
            Err(WalkFault::NotPresent { level: 1 }),
            "{gva:#x}"
        );
    }
    // Past the identity map, and the top half of the address space.
    assert_eq!(
        translate(&read, PAGE_TABLES_GPA, IDENTITY_LIMIT),
        Err(WalkFault::NotPresent { level: 3 })
    );
    assert_eq!(
        translate(&read, PAGE_TABLES_GPA, 0xFFFF_8000_0000_0000),
        Err(WalkFault::NotPresent { level: 4 })
    );
    for gva in [
        0x0000_8000_0000_0000,
        0x8000_0000_0000_0000,
        0xFFFF_0000_0000_0000,
    ] {
        assert_eq!(
            translate(&read, PAGE_TABLES_GPA, gva),
            Err(WalkFault::NonCanonical)
        );
    }
    // CR3's flag and PCID bits do not move the root.
    assert_eq!(
        translate(&read, PAGE_TABLES_GPA | 0x18, 0x5000).map(|m| m.gpa),
        Ok(0x5000)
    );
}

#[test]
fn large_pages_rights_and_faults() {
    // PML4 at 0x1000: entry 0 → PDPT at 0x2000; entry 1 has PS (reserved);
    // entry 2 → a PDPT that is not in memory.
    // PDPT: entry 0 a 1 GiB page at 4 GiB, read-only; entry 1 → PD at 0x3000, XD.
    // PD: entry 0 a 2 MiB page at 0x4000_0000_0000 >> ..., entry 1 → PT 0x4000.
    let mut mem: BTreeMap<u64, [u64; 512]> = BTreeMap::new();
    let mut pml4 = [0u64; 512];
    pml4[0] = 0x2000 | P | RW;
    pml4[1] = 0x2000 | P | RW | PS;
    pml4[2] = 0x9000 | P | RW;
    let mut pdpt = [0u64; 512];
    pdpt[0] = (1 << 32) | P | PS;
    pdpt[1] = 0x3000 | P | RW | XD;
    let mut pd = [0u64; 512];
    pd[0] = 0x0060_0000 | P | RW | PS | XD;
    pd[1] = 0x4000 | P | RW;
    let mut pt = [0u64; 512];
    pt[3] = 0x0007_7000 | P;
    mem.insert(0x1000, pml4);
    mem.insert(0x2000, pdpt);
    mem.insert(0x3000, pd);
    mem.insert(0x4000, pt);
    let tables: Vec<(u64, [u64; 512])> = mem.into_iter().collect();
    let read = memory(&tables);
    let gib = 1u64 << 30;
    assert_eq!(
        translate(&read, 0x1000, 0x1234_5678),
        Ok(Mapping {
            gpa: (1 << 32) + 0x1234_5678,
            writable: false,
            executable: true,
            page_size: gib,
        })
    );
    assert_eq!(
        translate(&read, 0x1000, gib + 0x1_2345),
        Ok(Mapping {
            gpa: 0x0060_0000 + 0x1_2345,
            writable: true,
            executable: false,
            page_size: 0x20_0000,
        })
    );
    assert_eq!(
        translate(&read, 0x1000, gib + 0x20_0000 + 0x3abc),
        Ok(Mapping {
            gpa: 0x0007_7abc,
            writable: false,
            executable: false,
            page_size: 0x1000,
        })
    );
    assert_eq!(
        translate(&read, 0x1000, gib + 0x20_0000 + 0x4000),
        Err(WalkFault::NotPresent { level: 1 })
    );
    assert_eq!(
        translate(&read, 0x1000, 1 << 39),
        Err(WalkFault::Reserved { level: 4 })
    );
    assert_eq!(
        translate(&read, 0x1000, 2 << 39),
        Err(WalkFault::Unreadable { gpa: 0x9000 })
    );
}

#[test]
fn ranges_split_at_every_page() {
    let all = |gva, len| pages(gva, len).map(|p| p.collect::<Vec<_>>());
    assert_eq!(all(0x1000, 0), Some(Vec::new()));
    assert_eq!(
        all(0x1ff0, 0x20),
        Some(vec![(0x1ff0, 0, 0x10), (0x2000, 0x10, 0x10)])
    );
    assert_eq!(
        all(0xfff, 0x2002),
        Some(vec![
            (0xfff, 0, 1),
            (0x1000, 1, 0x1000),
            (0x2000, 0x1001, 0x1000),
            (0x3000, 0x2001, 1)
        ])
    );
    assert_eq!(all(0x5000, 0x1000), Some(vec![(0x5000, 0, 0x1000)]));
    assert!(pages(u64::MAX - 4, 8).is_none());
    assert_eq!(all(u64::MAX - 4, 4).map(|v| v.len()), Some(1));
}
