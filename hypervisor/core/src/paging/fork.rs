//! Forking a table: a second root that shares every table and page of the first except
//! a few 4 KiB pages of its own (the per-vCPU views of docs/gates.md "Per-vCPU views":
//! view V's root on vCPU k differs from its root on vCPU 0 only in the per-vCPU pages).

use super::table::PageTable;
use super::{EntryFormat, Level, PageSize, PagingError, Slot, TableMemory};
use alloc::vec::Vec;

impl<F: EntryFormat + Clone> PageTable<F> {
    /// A new table that maps exactly what `self` maps, except that the 4 KiB page at
    /// each `gpa` of `pages` maps its `hpa` instead (same rights and memory type). Only
    /// the tables on the walk to those pages are copied (a new root, and below it each
    /// table some replaced page lies under); every other entry points at `self`'s
    /// tables, so a later change to a shared table shows in both roots.
    ///
    /// `self` is never written. The fork must not be changed outside its own copies
    /// (they are listed by [`PageTable::private_tables`]): a mapping added to it through
    /// a shared table would show in `self` too.
    ///
    /// # Errors
    /// [`PagingError::NotMapped`] if a `gpa` is not mapped by a 4 KiB page of `self`
    /// (the tables allocated so far are not given back); a misaligned address; allocation
    /// failures; corrupt entries.
    pub fn fork<M: TableMemory + ?Sized>(
        &self,
        mem: &mut M,
        pages: &[(u64, u64)],
    ) -> Result<Self, PagingError> {
        let root = copy_table(mem, self.root())?;
        let fork = Self::from_root(self.format().clone(), self.maxphyaddr(), root)?;
        for &(gpa, hpa) in pages {
            fork.replace(mem, self, gpa, hpa)?;
        }
        Ok(fork)
    }

    /// The tables of `self` that `origin` does not reach (a fork's own copies: its root
    /// and the tables on the walks to its own pages), in walk order.
    ///
    /// # Errors
    /// Corrupt entries.
    pub fn private_tables<M: TableMemory + ?Sized>(
        &self,
        mem: &M,
        origin: &Self,
    ) -> Result<Vec<u64>, PagingError> {
        let mut shared = Vec::new();
        origin.tables_under(mem, origin.root(), Level::Pml4, 0, &mut shared)?;
        let mut mine = Vec::new();
        self.tables_under(mem, self.root(), Level::Pml4, 0, &mut mine)?;
        mine.retain(|t| !shared.contains(t));
        Ok(mine)
    }

    /// Every table reachable from `table` (a table of `level` covering from `base`),
    /// itself first.
    fn tables_under<M: TableMemory + ?Sized>(
        &self,
        mem: &M,
        table: u64,
        level: Level,
        base: u64,
        out: &mut Vec<u64>,
    ) -> Result<(), PagingError> {
        out.push(table);
        let Some(below) = level.next() else {
            return Ok(());
        };
        for index in 0..super::ENTRIES_PER_TABLE {
            let gpa = base + index as u64 * level.span();
            if let Slot::Table(next) = self.decode(mem.read_entry(table, index), level, gpa)? {
                self.tables_under(mem, next, below, gpa, out)?;
            }
        }
        Ok(())
    }

    /// Makes the walk to `gpa` private to `self` (copying each table it still shares
    /// with `origin`) and points its 4 KiB leaf at `hpa`.
    fn replace<M: TableMemory + ?Sized>(
        &self,
        mem: &mut M,
        origin: &Self,
        gpa: u64,
        hpa: u64,
    ) -> Result<(), PagingError> {
        let size = PageSize::Size4K.bytes();
        self.check_gpa(gpa, size, size)?;
        self.check_hpa(hpa, size, size)?;
        let (mut mine, mut theirs) = (self.root(), Some(origin.root()));
        let mut level = Level::Pml4;
        while let Some(next) = level.next() {
            let index = level.index(gpa);
            let Slot::Table(child) = self.decode(mem.read_entry(mine, index), level, gpa)? else {
                return Err(PagingError::NotMapped { gpa });
            };
            let original = match theirs {
                Some(t) => match self.decode(mem.read_entry(t, index), level, gpa)? {
                    Slot::Table(c) => Some(c),
                    _ => None,
                },
                None => None,
            };
            let child = if Some(child) == original {
                let copy = copy_table(mem, child)?;
                mem.write_entry(mine, index, self.format().encode_table(copy));
                copy
            } else {
                child
            };
            (mine, theirs, level) = (child, original, next);
        }
        let index = Level::Pt.index(gpa);
        let Slot::Leaf(leaf) = self.decode(mem.read_entry(mine, index), Level::Pt, gpa)? else {
            return Err(PagingError::NotMapped { gpa });
        };
        let entry = self
            .format()
            .encode_leaf(hpa, PageSize::Size4K, leaf.perms, leaf.memory_type)
            .map_err(|error| PagingError::Perms { gpa, error })?;
        mem.write_entry(mine, index, entry);
        Ok(())
    }
}

/// A fresh table holding `table`'s 512 entries.
fn copy_table<M: TableMemory + ?Sized>(mem: &mut M, table: u64) -> Result<u64, PagingError> {
    let copy = mem.alloc_table()?;
    for index in 0..super::ENTRIES_PER_TABLE {
        mem.write_entry(copy, index, mem.read_entry(table, index));
    }
    Ok(copy)
}
