//! Walking every mapping of a table in GPA order.

use alloc::vec::Vec;

use super::super::{Mapping, PageSize, PagingError, Perms, TableMemory};
use super::{K4, M2, ept, npt};

#[test]
fn every_page_is_visited_once_in_gpa_order() {
    let (mut table, mut mem) = ept();
    // Out of order, across PDPT entries, 4 KiB and 2 MiB pages.
    table
        .map_range(&mut mem, 0x40_0000_0000, 0x4000_0000, K4, Perms::RX)
        .unwrap();
    table
        .map_range(&mut mem, 0x20_0000, 0x100_0000, 2 * K4, Perms::RX)
        .unwrap();
    table
        .map_range(&mut mem, 0x4000_0000, 0x200_0000, M2 + K4, Perms::RW)
        .unwrap();
    let mut seen = Vec::new();
    table.for_each_mapping(&mem, |m| seen.push(m)).unwrap();
    let page = |gpa, hpa, size, perms| Mapping {
        gpa,
        hpa,
        size,
        perms,
    };
    assert_eq!(
        seen,
        [
            page(0x20_0000, 0x100_0000, PageSize::Size4K, Perms::RX),
            page(0x20_1000, 0x100_1000, PageSize::Size4K, Perms::RX),
            page(0x4000_0000, 0x200_0000, PageSize::Size2M, Perms::RW),
            page(0x4020_0000, 0x220_0000, PageSize::Size4K, Perms::RW),
            page(0x40_0000_0000, 0x4000_0000, PageSize::Size4K, Perms::RX),
        ]
    );
    // An empty table visits nothing.
    let (empty, mem) = npt();
    let mut count = 0;
    empty.for_each_mapping(&mem, |_| count += 1).unwrap();
    assert_eq!(count, 0);
}

#[test]
fn a_corrupt_entry_stops_the_walk_with_an_error() {
    let (mut table, mut mem) = ept();
    table
        .map_range(&mut mem, 0x20_0000, 0x100_0000, K4, Perms::RX)
        .unwrap();
    // A 1 GiB page in the PDPT (the builder never writes one).
    let pdpt = mem.read_entry(table.root(), 0) & !0xFFF & ((1 << 39) - 1);
    mem.write_entry(pdpt, 3, 0xC000_0000 | 0x87);
    let result = table.for_each_mapping(&mem, |_| {});
    assert!(
        matches!(result, Err(PagingError::CorruptEntry { .. })),
        "{result:?}"
    );
}
