//! Forking a table: the fork maps what the origin maps except its own pages, and shares
//! every table not on the walk to one of them.

use alloc::vec::Vec;

use super::super::{Mapping, PageTable, PagingError, Perms, TableMemory};
use super::{K4, M2, ept, npt};

fn mappings<F: super::super::EntryFormat, M: TableMemory>(t: &PageTable<F>, m: &M) -> Vec<Mapping> {
    let mut seen = Vec::new();
    t.for_each_mapping(m, |x| seen.push(x)).unwrap();
    seen
}

#[test]
fn a_fork_differs_only_in_its_own_pages_and_shares_the_other_tables() {
    let (mut table, mut mem) = ept();
    table
        .map_range(&mut mem, 0x20_0000, 0x100_0000, 8 * K4, Perms::RX)
        .unwrap();
    table
        .map_range(&mut mem, 0x20_4000 + 4 * K4, 0x110_0000, K4, Perms::RW)
        .unwrap();
    table
        .map_range(&mut mem, 0x4000_0000, 0x200_0000, M2, Perms::RW)
        .unwrap();
    table
        .map_range(&mut mem, 0x8000_0000, 0x300_0000, 2 * K4, Perms::R)
        .unwrap();
    let before = mappings(&table, &mem);
    let tables = mem.table_count();
    let fork = table
        .fork(
            &mut mem,
            &[(0x20_3000, 0x500_0000), (0x20_8000, 0x501_0000)],
        )
        .unwrap();
    // The origin is untouched.
    assert_eq!(mappings(&table, &mem), before);
    // The fork: the same mappings with the two pages pointing elsewhere, same rights.
    let expect: Vec<Mapping> = before
        .iter()
        .map(|m| match m.gpa {
            0x20_3000 => Mapping {
                hpa: 0x500_0000,
                ..*m
            },
            0x20_8000 => Mapping {
                hpa: 0x501_0000,
                ..*m
            },
            _ => *m,
        })
        .collect();
    assert_eq!(mappings(&fork, &mem), expect);
    // Its own tables: root, PDPT, PD and PT of the first GiB (both pages share one PT);
    // the PD and PT of the second and third GiB are the origin's.
    let private = fork.private_tables(&mem, &table).unwrap();
    assert_eq!(private.len(), 4, "{private:x?}");
    assert_eq!(private[0], fork.root());
    assert_eq!(mem.table_count(), tables + 4);
    // A page mapped later through a shared table shows in both.
    table
        .map_range(&mut mem, 0x8000_2000, 0x300_2000, K4, Perms::R)
        .unwrap();
    assert_eq!(fork.translate(&mem, 0x8000_2000).unwrap().hpa, 0x300_2000);
    // A fork of a fork copies nothing more for a page it already owns.
    let again = fork.fork(&mut mem, &[(0x20_3000, 0x502_0000)]).unwrap();
    assert_eq!(again.translate(&mem, 0x20_3000).unwrap().hpa, 0x502_0000);
    assert_eq!(fork.translate(&mem, 0x20_3000).unwrap().hpa, 0x500_0000);
    assert_eq!(table.translate(&mem, 0x20_3000).unwrap().hpa, 0x100_3000);
}

#[test]
fn only_4k_pages_the_origin_maps_can_be_replaced() {
    let (mut table, mut mem) = npt();
    table
        .map_range(&mut mem, 0x4000_0000, 0x200_0000, M2, Perms::RW)
        .unwrap();
    table
        .map_range(&mut mem, 0x20_0000, 0x100_0000, K4, Perms::RW)
        .unwrap();
    for gpa in [0x20_1000, 0x4000_0000, 0x9000_0000] {
        assert!(
            matches!(
                table.fork(&mut mem, &[(gpa, 0x500_0000)]),
                Err(PagingError::NotMapped { .. })
            ),
            "{gpa:#x}"
        );
    }
    assert!(matches!(
        table.fork(&mut mem, &[(0x20_0000, 0x500_0800)]),
        Err(PagingError::MisalignedHpa { .. })
    ));
}
