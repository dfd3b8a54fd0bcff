//! Range operations: map a range with the largest pages that fit, unmap, change rights.
//!
//! Each operation validates everything it can before writing, so a refused request
//! leaves the tables as they were. The only failure after the first write is running
//! out of table frames, and `map_range` undoes its own partial work then.

use super::table::Located;
use super::{EntryFormat, Leaf, MemoryType, PageSize, PageTable, PagingError, Perms, TableMemory};

const SIZE_2M: u64 = PageSize::Size2M.bytes();
const SIZE_4K: u64 = PageSize::Size4K.bytes();

impl<F: EntryFormat> PageTable<F> {
    /// Maps `[gpa, gpa + len)` to `[hpa, hpa + len)`, write-back, using 2 MiB pages
    /// wherever both addresses are 2 MiB-aligned and at least 2 MiB remain, 4 KiB pages
    /// elsewhere. `len == 0` maps nothing.
    ///
    /// # Errors
    /// Addresses or length not 4 KiB-aligned, ranges out of range, rights the format
    /// cannot express, [`PagingError::AlreadyMapped`] naming the first mapped GPA of the
    /// range, allocation failures (after undoing the part already mapped).
    pub fn map_range<M: TableMemory + ?Sized>(
        &mut self,
        mem: &mut M,
        gpa: u64,
        hpa: u64,
        len: u64,
        perms: Perms,
    ) -> Result<(), PagingError> {
        self.map_range_typed(mem, gpa, hpa, len, perms, MemoryType::WriteBack)
    }

    /// [`PageTable::map_range`] with an explicit memory type.
    ///
    /// # Errors
    /// As [`PageTable::map_range`].
    pub fn map_range_typed<M: TableMemory + ?Sized>(
        &mut self,
        mem: &mut M,
        gpa: u64,
        hpa: u64,
        len: u64,
        perms: Perms,
        memory_type: MemoryType,
    ) -> Result<(), PagingError> {
        check_len(len)?;
        self.check_gpa(gpa, len, SIZE_4K)?;
        self.check_hpa(hpa, len, SIZE_4K)?;
        self.format()
            .check(perms, memory_type)
            .map_err(|error| PagingError::Perms { gpa, error })?;
        if let Some(mapped) = self.first_mapped(mem, gpa, len)? {
            return Err(PagingError::AlreadyMapped { gpa: mapped });
        }
        let mut offset = 0;
        while offset < len {
            let (g, h) = (gpa + offset, hpa + offset);
            let size = if g % SIZE_2M == 0 && h % SIZE_2M == 0 && len - offset >= SIZE_2M {
                PageSize::Size2M
            } else {
                PageSize::Size4K
            };
            if let Err(error) = self.map_typed(mem, g, h, size, perms, memory_type) {
                // Only whole pages this call created are in [gpa, gpa + offset): removing
                // them needs no split, hence no allocation, and cannot fail.
                let _ = self.unmap(mem, gpa, offset);
                return Err(error);
            }
            offset += size.bytes();
        }
        Ok(())
    }

    /// Removes every mapping in `[gpa, gpa + len)`, splitting a 2 MiB page that the range
    /// only partly covers. Holes in the range are fine. Page tables left empty stay
    /// allocated (a later 2 MiB mapping over them gives them back via `free_table`).
    ///
    /// # Errors
    /// Misaligned or out-of-range GPA or length; allocation failure of a split (then
    /// nothing was unmapped); corrupt entries.
    pub fn unmap<M: TableMemory + ?Sized>(
        &mut self,
        mem: &mut M,
        gpa: u64,
        len: u64,
    ) -> Result<(), PagingError> {
        check_len(len)?;
        let end = self.check_gpa(gpa, len, SIZE_4K)?;
        if len == 0 {
            return Ok(());
        }
        self.split_boundaries(mem, gpa, end)?;
        self.for_each_leaf(mem, gpa, end, |_, mem, table, index, _| {
            mem.write_entry(table, index, 0);
            Ok(())
        })
    }

    /// Gives every page in `[gpa, gpa + len)` the rights `perms`, keeping addresses and
    /// memory types, splitting a 2 MiB page that the range only partly covers.
    ///
    /// # Errors
    /// Misaligned or out-of-range GPA or length; [`PagingError::NotMapped`] naming the
    /// first unmapped GPA of the range; rights the format cannot express; allocation
    /// failure of a split (then no rights changed).
    pub fn protect<M: TableMemory + ?Sized>(
        &mut self,
        mem: &mut M,
        gpa: u64,
        len: u64,
        perms: Perms,
    ) -> Result<(), PagingError> {
        check_len(len)?;
        let end = self.check_gpa(gpa, len, SIZE_4K)?;
        self.format()
            .check(perms, MemoryType::WriteBack)
            .map_err(|error| PagingError::Perms { gpa, error })?;
        if len == 0 {
            return Ok(());
        }
        if let Some(hole) = self.first_unmapped(mem, gpa, len)? {
            return Err(PagingError::NotMapped { gpa: hole });
        }
        self.split_boundaries(mem, gpa, end)?;
        self.for_each_leaf(mem, gpa, end, |this, mem, table, index, located| {
            let (size, base, leaf) = located;
            let entry = this
                .format()
                .encode_leaf(leaf.hpa, size, perms, leaf.memory_type)
                .map_err(|error| PagingError::Perms { gpa: base, error })?;
            mem.write_entry(table, index, entry);
            Ok(())
        })
    }

    /// The lowest mapped GPA in `[gpa, gpa + len)`, if any.
    ///
    /// # Errors
    /// Out-of-range GPA; corrupt entries.
    pub fn first_mapped<M: TableMemory + ?Sized>(
        &self,
        mem: &M,
        gpa: u64,
        len: u64,
    ) -> Result<Option<u64>, PagingError> {
        let end = self.check_gpa(gpa, len, 1)?;
        let mut cursor = gpa;
        while cursor < end {
            match self.locate(mem, cursor)? {
                Located::Empty { end: next } => cursor = next,
                Located::Leaf { .. } => return Ok(Some(cursor)),
            }
        }
        Ok(None)
    }

    /// The lowest unmapped GPA in `[gpa, gpa + len)`, if any.
    ///
    /// # Errors
    /// Out-of-range GPA; corrupt entries.
    pub fn first_unmapped<M: TableMemory + ?Sized>(
        &self,
        mem: &M,
        gpa: u64,
        len: u64,
    ) -> Result<Option<u64>, PagingError> {
        let end = self.check_gpa(gpa, len, 1)?;
        let mut cursor = gpa;
        while cursor < end {
            match self.locate(mem, cursor)? {
                Located::Empty { .. } => return Ok(Some(cursor)),
                Located::Leaf { base, size, .. } => cursor = base + size.bytes(),
            }
        }
        Ok(None)
    }

    /// Splits the 2 MiB pages that contain `start` or `end` without being fully inside
    /// `[start, end)`, before anything else changes (so a failed allocation leaves every
    /// translation as it was).
    fn split_boundaries<M: TableMemory + ?Sized>(
        &self,
        mem: &mut M,
        start: u64,
        end: u64,
    ) -> Result<(), PagingError> {
        for boundary in [start, end] {
            if boundary % SIZE_2M == 0 {
                continue;
            }
            if let Located::Leaf {
                table,
                index,
                size: PageSize::Size2M,
                base,
                leaf,
            } = self.locate(mem, boundary)?
            {
                self.split_leaf(mem, table, index, base, leaf)?;
            }
        }
        Ok(())
    }

    /// Calls `visit` for the entry of every page in `[start, end)`; pages straddling the
    /// range boundaries must have been split before.
    fn for_each_leaf<M, V>(
        &self,
        mem: &mut M,
        start: u64,
        end: u64,
        mut visit: V,
    ) -> Result<(), PagingError>
    where
        M: TableMemory + ?Sized,
        V: FnMut(&Self, &mut M, u64, usize, (PageSize, u64, Leaf)) -> Result<(), PagingError>,
    {
        let mut cursor = start;
        while cursor < end {
            match self.locate(mem, cursor)? {
                Located::Empty { end: next } => cursor = next,
                Located::Leaf {
                    table,
                    index,
                    size,
                    base,
                    leaf,
                } => {
                    if size == PageSize::Size2M && (base < start || base + size.bytes() > end) {
                        // Unreachable after split_boundaries; splitting here keeps the
                        // operation confined to the range regardless.
                        self.split_leaf(mem, table, index, base, leaf)?;
                        continue;
                    }
                    visit(self, mem, table, index, (size, base, leaf))?;
                    cursor = base + size.bytes();
                }
            }
        }
        Ok(())
    }
}

fn check_len(len: u64) -> Result<(), PagingError> {
    if len % SIZE_4K == 0 {
        Ok(())
    } else {
        Err(PagingError::MisalignedLength { len })
    }
}
