//! Unit tests of the page-table builder, one file per concern.

mod eptp;
mod fork;
mod formats;
mod ranges;
mod single;
mod walk;

use super::{EntryFormat, Ept, Npt, PageTable, SimTables};

/// Where the simulated table frames start (well below any MAXPHYADDR used here).
const TABLE_BASE: u64 = 0x10_0000_0000;
const MAXPHYADDR: u8 = 39;
const K4: u64 = 0x1000;
const M2: u64 = 0x20_0000;

fn setup<F: EntryFormat>(format: F) -> (PageTable<F>, SimTables) {
    let mut mem = SimTables::new(TABLE_BASE);
    let table = PageTable::new(format, MAXPHYADDR, &mut mem).expect("root allocates");
    (table, mem)
}

fn ept() -> (PageTable<Ept>, SimTables) {
    setup(Ept::new(false))
}

fn npt() -> (PageTable<Npt>, SimTables) {
    setup(Npt)
}
