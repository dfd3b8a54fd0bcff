//! Single-page operations: map, translate, split, and what they refuse.

use super::super::{
    EntryFormat, Level, MemoryType, Npt, PageSize, PageTable, PagingError, Perms, PermsError,
    SimTables, TableMemory, Translation,
};
use super::{K4, M2, MAXPHYADDR, TABLE_BASE, ept, npt, setup};
use crate::paging::Ept;

const GPA: u64 = 0x4020_0000;
const HPA: u64 = 0x7_0060_0000;

/// Object-safe view of a page table, to run one test body over both formats.
trait Mapper {
    fn map(
        &mut self,
        m: &mut SimTables,
        g: u64,
        h: u64,
        s: PageSize,
        p: Perms,
    ) -> Result<(), PagingError>;
    fn translate(&self, m: &SimTables, g: u64) -> Option<Translation>;
}

impl<F: EntryFormat> Mapper for PageTable<F> {
    fn map(
        &mut self,
        m: &mut SimTables,
        g: u64,
        h: u64,
        s: PageSize,
        p: Perms,
    ) -> Result<(), PagingError> {
        PageTable::map(self, m, g, h, s, p)
    }
    fn translate(&self, m: &SimTables, g: u64) -> Option<Translation> {
        PageTable::translate(self, m, g)
    }
}

fn each_format(body: impl Fn(&mut dyn Mapper, &mut SimTables)) {
    let (mut e, mut em) = ept();
    body(&mut e, &mut em);
    let (mut n, mut nm) = npt();
    body(&mut n, &mut nm);
}

#[test]
fn map_then_translate_4k_and_2m() {
    each_format(|table, mem| {
        assert_eq!(
            table.map(mem, GPA, HPA, PageSize::Size4K, Perms::RW),
            Ok(())
        );
        assert_eq!(
            table.map(mem, GPA + M2, HPA + M2, PageSize::Size2M, Perms::RX),
            Ok(())
        );
        let t = table.translate(mem, GPA + 0x123);
        assert_eq!(
            t,
            Some(Translation {
                hpa: HPA + 0x123,
                perms: Perms::RW,
                size: PageSize::Size4K,
                memory_type: MemoryType::WriteBack,
            })
        );
        let t = table.translate(mem, GPA + M2 + 0x1_2345);
        assert_eq!(
            t.map(|t| (t.hpa, t.perms, t.size)),
            Some((HPA + M2 + 0x1_2345, Perms::RX, PageSize::Size2M))
        );
        assert_eq!(table.translate(mem, GPA + K4), None);
        assert_eq!(table.translate(mem, GPA - 1), None);
    });
}

#[test]
fn overlapping_maps_are_refused_with_the_gpa() {
    each_format(|table, mem| {
        let (s4, s2) = (PageSize::Size4K, PageSize::Size2M);
        assert_eq!(table.map(mem, GPA, HPA, s2, Perms::RW), Ok(()));
        let inside = GPA + 5 * K4;
        let err = table.map(mem, inside, HPA, s4, Perms::RW);
        assert_eq!(err, Err(PagingError::AlreadyMapped { gpa: inside }));
        let err = table.map(mem, GPA, HPA + M2, s2, Perms::R);
        assert_eq!(err, Err(PagingError::AlreadyMapped { gpa: GPA }));
        // A 4 KiB page blocks a 2 MiB page over it; the error names the 4 KiB page.
        let other = GPA + 2 * M2;
        assert_eq!(table.map(mem, other + 7 * K4, HPA, s4, Perms::R), Ok(()));
        let err = table.map(mem, other, HPA, s2, Perms::R);
        assert_eq!(
            err,
            Err(PagingError::AlreadyMapped {
                gpa: other + 7 * K4
            })
        );
        // The refused maps changed nothing.
        assert_eq!(
            table.translate(mem, inside).map(|t| t.hpa),
            Some(HPA + 5 * K4)
        );
        assert_eq!(table.translate(mem, other), None);
    });
}

#[test]
fn misaligned_addresses_are_refused() {
    each_format(|table, mem| {
        let (s4, s2) = (PageSize::Size4K, PageSize::Size2M);
        let err = table.map(mem, GPA + 8, HPA, s4, Perms::R);
        assert_eq!(
            err,
            Err(PagingError::MisalignedGpa {
                gpa: GPA + 8,
                align: K4
            })
        );
        let err = table.map(mem, GPA, HPA + 8, s4, Perms::R);
        assert_eq!(
            err,
            Err(PagingError::MisalignedHpa {
                hpa: HPA + 8,
                align: K4
            })
        );
        let err = table.map(mem, GPA + K4, HPA, s2, Perms::R);
        assert_eq!(
            err,
            Err(PagingError::MisalignedGpa {
                gpa: GPA + K4,
                align: M2
            })
        );
        let err = table.map(mem, GPA, HPA + K4, s2, Perms::R);
        assert_eq!(
            err,
            Err(PagingError::MisalignedHpa {
                hpa: HPA + K4,
                align: M2
            })
        );
    });
}

#[test]
fn addresses_at_or_above_maxphyaddr_are_refused() {
    each_format(|table, mem| {
        let top = 1u64 << MAXPHYADDR;
        let s4 = PageSize::Size4K;
        let err = table.map(mem, GPA, top, s4, Perms::R);
        let bits = MAXPHYADDR;
        assert_eq!(
            err,
            Err(PagingError::HpaOutOfRange {
                hpa: top,
                len: K4,
                bits
            })
        );
        let err = table.map(mem, top, HPA, s4, Perms::R);
        assert_eq!(
            err,
            Err(PagingError::GpaOutOfRange {
                gpa: top,
                len: K4,
                bits
            })
        );
        // The last page below the limit is fine on both sides.
        assert_eq!(table.map(mem, top - K4, top - K4, s4, Perms::R), Ok(()));
        let err = table.map(mem, top - K4, !0xFFF_u64, s4, Perms::R);
        assert!(matches!(err, Err(PagingError::HpaOutOfRange { .. })));
    });
    // With a wide host, GPAs still stop at the 48 bits a 4-level walk translates.
    let mut mem = SimTables::new(TABLE_BASE);
    let mut table = PageTable::new(Ept::new(false), 52, &mut mem).expect("root");
    let err = table.map(&mut mem, 1 << 48, HPA, PageSize::Size4K, Perms::R);
    let expected = PagingError::GpaOutOfRange {
        gpa: 1 << 48,
        len: K4,
        bits: 48,
    };
    assert_eq!(err, Err(expected));
    assert_eq!(table.translate(&mem, u64::MAX), None);
}

#[test]
fn write_without_read_is_refused_and_nothing_is_written() {
    let (mut e, mut em) = ept();
    let tables = em.table_count();
    let w = Perms::new(false, true, false);
    let err = e.map(&mut em, GPA, HPA, PageSize::Size4K, w);
    let expected = PagingError::Perms {
        gpa: GPA,
        error: PermsError::WriteWithoutRead,
    };
    assert_eq!(err, Err(expected));
    assert_eq!(em.table_count(), tables);
    let (mut n, mut nm) = npt();
    assert_eq!(n.map(&mut nm, GPA, HPA, PageSize::Size2M, w), Err(expected));
    let err = n.map(&mut nm, GPA, HPA, PageSize::Size4K, Perms::X);
    let expected = PagingError::Perms {
        gpa: GPA,
        error: PermsError::ReadNotOptional,
    };
    assert_eq!(err, Err(expected));
}

#[test]
fn constructor_checks_maxphyaddr_and_root() {
    let mut mem = SimTables::new(TABLE_BASE);
    for bits in [0, 31, 53, 255] {
        let err = PageTable::new(Npt, bits, &mut mem).err();
        assert_eq!(err, Some(PagingError::InvalidMaxPhyAddr { bits }));
    }
    assert!(PageTable::from_root(Npt, 40, 0x1000).is_ok());
    let err = PageTable::from_root(Npt, 40, 0x1008).err();
    assert_eq!(err, Some(PagingError::BadTableAddress { table: 0x1008 }));
    let err = PageTable::from_root(Npt, 40, 1 << 40).err();
    assert_eq!(err, Some(PagingError::BadTableAddress { table: 1 << 40 }));
}

#[test]
fn split_keeps_rights_types_and_contiguous_addresses() {
    let (mut table, mut mem) = ept();
    let uc = MemoryType::Uncacheable;
    let mapped = table.map_typed(&mut mem, GPA, HPA, PageSize::Size2M, Perms::RX, uc);
    assert_eq!(mapped, Ok(()));
    assert_eq!(table.split(&mut mem, GPA + 0x1_2345), Ok(()));
    for i in 0..512 {
        let t = table.translate(&mem, GPA + i * K4 + 0x10);
        let expected = Translation {
            hpa: HPA + i * K4 + 0x10,
            perms: Perms::RX,
            size: PageSize::Size4K,
            memory_type: uc,
        };
        assert_eq!(t, Some(expected));
    }
    // Already split: nothing to do. Unmapped: an error naming the GPA.
    assert_eq!(table.split(&mut mem, GPA), Ok(()));
    let err = table.split(&mut mem, GPA + M2);
    assert_eq!(err, Err(PagingError::NotMapped { gpa: GPA + M2 }));
}

#[test]
fn a_2m_page_over_an_emptied_page_table_frees_it() {
    let (mut table, mut mem) = npt();
    assert_eq!(
        table.map(&mut mem, GPA, HPA, PageSize::Size4K, Perms::R),
        Ok(())
    );
    let count = mem.table_count();
    assert_eq!(table.unmap(&mut mem, GPA, K4), Ok(()));
    assert_eq!(
        table.map(&mut mem, GPA, HPA, PageSize::Size2M, Perms::R),
        Ok(())
    );
    assert_eq!(mem.table_count(), count - 1);
    assert_eq!(
        table.translate(&mem, GPA).map(|t| t.size),
        Some(PageSize::Size2M)
    );
}

#[test]
fn allocation_failures_are_errors() {
    let mut mem = SimTables::with_limit(TABLE_BASE, 2);
    let mut table = PageTable::new(Ept::new(false), MAXPHYADDR, &mut mem).expect("root");
    let err = table.map(&mut mem, GPA, HPA, PageSize::Size4K, Perms::R);
    assert_eq!(err, Err(PagingError::OutOfTables));
    assert_eq!(table.translate(&mem, GPA), None);

    /// Hands out a misaligned frame.
    struct Crooked(SimTables);
    impl TableMemory for Crooked {
        fn alloc_table(&mut self) -> Result<u64, PagingError> {
            self.0.alloc_table().map(|t| t + 8)
        }
        fn read_entry(&self, table: u64, index: usize) -> u64 {
            self.0.read_entry(table, index)
        }
        fn write_entry(&mut self, table: u64, index: usize, value: u64) {
            self.0.write_entry(table, index, value);
        }
    }
    let mut crooked = Crooked(SimTables::new(TABLE_BASE));
    let err = PageTable::new(Npt, MAXPHYADDR, &mut crooked).err();
    assert_eq!(
        err,
        Some(PagingError::BadTableAddress {
            table: TABLE_BASE + 8
        })
    );
}

#[test]
fn corrupt_entries_are_reported_not_followed() {
    let (mut table, mut mem) = setup(Ept::new(false));
    let root = table.root();
    // A PML4 entry with a reserved bit set.
    let garbage = 0xdead_b000 | 0b111 | (1 << 4);
    mem.write_entry(root, 0, garbage);
    let err = table.lookup(&mem, 0x1000);
    let expected = PagingError::CorruptEntry {
        gpa: 0x1000,
        level: Level::Pml4,
        entry: garbage,
    };
    assert_eq!(err, Err(expected));
    assert_eq!(table.translate(&mem, 0x1000), None);
    let err = table.map(&mut mem, 0x1000, HPA, PageSize::Size4K, Perms::R);
    assert!(matches!(err, Err(PagingError::CorruptEntry { .. })));
    assert!(matches!(
        table.unmap(&mut mem, 0, M2),
        Err(PagingError::CorruptEntry { .. })
    ));
}
