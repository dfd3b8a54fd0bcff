//! Range operations: map_range page choice, unmap and protect with splits, atomicity.

use super::super::{MemoryType, PageSize, PageTable, PagingError, Perms, PermsError, SimTables};
use super::{K4, M2, MAXPHYADDR, TABLE_BASE, ept, npt};
use crate::paging::Ept;

const GPA: u64 = 0x8000_0000;
const HPA: u64 = 0x2_0000_0000;

fn size_at<F: crate::paging::EntryFormat>(
    t: &PageTable<F>,
    m: &SimTables,
    g: u64,
) -> Option<PageSize> {
    t.translate(m, g).map(|t| t.size)
}

#[test]
fn map_range_uses_2m_pages_where_both_addresses_and_length_allow() {
    let (mut table, mut mem) = ept();
    // [GPA - 4K, GPA + 2M + 4K): a 4 KiB head, one 2 MiB page, a 4 KiB tail.
    let (g, h) = (GPA - K4, HPA - K4);
    assert_eq!(
        table.map_range(&mut mem, g, h, M2 + 2 * K4, Perms::RW),
        Ok(())
    );
    assert_eq!(size_at(&table, &mem, g), Some(PageSize::Size4K));
    assert_eq!(size_at(&table, &mem, GPA), Some(PageSize::Size2M));
    assert_eq!(size_at(&table, &mem, GPA + M2), Some(PageSize::Size4K));
    assert_eq!(size_at(&table, &mem, GPA + M2 + K4), None);
    for offset in (0..M2 + 2 * K4).step_by(0x1_0000) {
        assert_eq!(
            table.translate(&mem, g + offset).map(|t| t.hpa),
            Some(h + offset)
        );
    }
    // The host side not 2 MiB-aligned relative to the guest side: 4 KiB pages only.
    let other = GPA + 4 * M2;
    assert_eq!(
        table.map_range(&mut mem, other, HPA + K4, 2 * M2, Perms::R),
        Ok(())
    );
    assert_eq!(size_at(&table, &mem, other), Some(PageSize::Size4K));
    assert_eq!(size_at(&table, &mem, other + M2), Some(PageSize::Size4K));
    // Less than 2 MiB left: 4 KiB pages.
    let short = GPA + 8 * M2;
    assert_eq!(
        table.map_range(&mut mem, short, HPA, M2 - K4, Perms::R),
        Ok(())
    );
    assert_eq!(size_at(&table, &mem, short), Some(PageSize::Size4K));
}

#[test]
fn map_range_refuses_overlap_naming_the_first_mapped_gpa() {
    let (mut table, mut mem) = npt();
    let busy = GPA + 3 * M2 + 5 * K4;
    assert_eq!(
        table.map(&mut mem, busy, HPA, PageSize::Size4K, Perms::R),
        Ok(())
    );
    let err = table.map_range(&mut mem, GPA, HPA, 8 * M2, Perms::RW);
    assert_eq!(err, Err(PagingError::AlreadyMapped { gpa: busy }));
    assert_eq!(table.first_mapped(&mem, GPA, 8 * M2), Ok(Some(busy)));
    assert_eq!(table.translate(&mem, GPA), None);
}

#[test]
fn map_range_undoes_its_work_when_tables_run_out() {
    // Root + PDPT + PD + one PT: the 2 MiB head fits, the 4 KiB tail needs a second PT.
    let mut mem = SimTables::with_limit(TABLE_BASE, 4);
    let mut table = PageTable::new(Ept::new(false), MAXPHYADDR, &mut mem).expect("root");
    assert_eq!(
        table.map(&mut mem, GPA + 8 * M2, HPA, PageSize::Size4K, Perms::R),
        Ok(())
    );
    let err = table.map_range(&mut mem, GPA, HPA, M2 + K4, Perms::RW);
    assert_eq!(err, Err(PagingError::OutOfTables));
    assert_eq!(table.first_mapped(&mem, GPA, M2 + K4), Ok(None));
    assert!(table.translate(&mem, GPA + 8 * M2).is_some());
}

#[test]
fn map_range_checks_lengths_and_rights_first() {
    let (mut table, mut mem) = ept();
    let err = table.map_range(&mut mem, GPA, HPA, K4 + 1, Perms::R);
    assert_eq!(err, Err(PagingError::MisalignedLength { len: K4 + 1 }));
    let w = Perms::new(false, true, false);
    let err = table.map_range(&mut mem, GPA, HPA, M2, w);
    let expected = PagingError::Perms {
        gpa: GPA,
        error: PermsError::WriteWithoutRead,
    };
    assert_eq!(err, Err(expected));
    let err = table.map_range(&mut mem, !0xFFF_u64, HPA, 2 * K4, Perms::R);
    assert!(matches!(err, Err(PagingError::GpaOutOfRange { .. })));
    assert_eq!(table.map_range(&mut mem, GPA, HPA, 0, Perms::R), Ok(()));
    assert_eq!(table.translate(&mem, GPA), None);
}

#[test]
fn unmap_inside_a_2m_page_splits_it_and_keeps_the_rest() {
    let (mut table, mut mem) = ept();
    assert_eq!(
        table.map_range(&mut mem, GPA, HPA, 2 * M2, Perms::RX),
        Ok(())
    );
    let hole = GPA + M2 - 2 * K4;
    // Crosses the boundary between the two 2 MiB pages: both are split.
    assert_eq!(table.unmap(&mut mem, hole, 4 * K4), Ok(()));
    for page in 0..4 {
        assert_eq!(table.translate(&mem, hole + page * K4), None);
    }
    for g in [GPA, hole - K4, hole + 4 * K4, GPA + 2 * M2 - K4] {
        let t = table.translate(&mem, g);
        let expected = Some((HPA + (g - GPA), Perms::RX, PageSize::Size4K));
        assert_eq!(t.map(|t| (t.hpa, t.perms, t.size)), expected);
    }
    // Holes are fine; a whole 2 MiB page goes without a split.
    assert_eq!(
        table.map(&mut mem, GPA + 4 * M2, HPA, PageSize::Size2M, Perms::R),
        Ok(())
    );
    let before = mem.table_count();
    assert_eq!(table.unmap(&mut mem, GPA - M2, 6 * M2), Ok(()));
    assert_eq!(mem.table_count(), before);
    assert_eq!(table.first_mapped(&mem, 0, 1 << MAXPHYADDR), Ok(None));
}

#[test]
fn protect_changes_only_the_range_and_keeps_types() {
    let (mut table, mut mem) = npt();
    let uc = MemoryType::Uncacheable;
    assert_eq!(
        table.map_range_typed(&mut mem, GPA, HPA, M2, Perms::RWX, uc),
        Ok(())
    );
    let (start, len) = (GPA + 16 * K4, 8 * K4);
    assert_eq!(table.protect(&mut mem, start, len, Perms::R), Ok(()));
    for page in 0..512 {
        let g = GPA + page * K4;
        let t = table.translate(&mem, g).expect("still mapped");
        let inside = (start..start + len).contains(&g);
        assert_eq!(
            t.perms,
            if inside { Perms::R } else { Perms::RWX },
            "{g:#x}"
        );
        assert_eq!(
            (t.hpa, t.memory_type, t.size),
            (HPA + page * K4, uc, PageSize::Size4K)
        );
    }
    // A whole 2 MiB page keeps its size.
    let big = GPA + 2 * M2;
    assert_eq!(
        table.map(&mut mem, big, HPA, PageSize::Size2M, Perms::R),
        Ok(())
    );
    assert_eq!(table.protect(&mut mem, big, M2, Perms::RW), Ok(()));
    let t = table.translate(&mem, big).map(|t| (t.perms, t.size));
    assert_eq!(t, Some((Perms::RW, PageSize::Size2M)));
}

#[test]
fn protect_refuses_holes_and_bad_rights_without_changing_anything() {
    let (mut table, mut mem) = ept();
    assert_eq!(table.map_range(&mut mem, GPA, HPA, M2, Perms::RW), Ok(()));
    let err = table.protect(&mut mem, GPA, M2 + K4, Perms::R);
    assert_eq!(err, Err(PagingError::NotMapped { gpa: GPA + M2 }));
    let w = Perms::new(false, true, false);
    let err = table.protect(&mut mem, GPA, K4, w);
    let expected = PagingError::Perms {
        gpa: GPA,
        error: PermsError::WriteWithoutRead,
    };
    assert_eq!(err, Err(expected));
    let t = table.translate(&mem, GPA).map(|t| (t.perms, t.size));
    assert_eq!(t, Some((Perms::RW, PageSize::Size2M)));
}
