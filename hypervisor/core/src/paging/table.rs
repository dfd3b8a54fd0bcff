//! The page-table builder: construction, the walk, single-page map, translate, split.

use super::{
    ENTRIES_PER_TABLE, EntryFormat, GPA_BITS, Leaf, Level, MAX_PHYS_ADDR_BITS, MIN_PHYS_ADDR_BITS,
    MemoryType, PageSize, PagingError, Perms, Slot, TABLE_SIZE, TableMemory, Translation,
};

/// A 4-level second-level page table rooted at a host-physical address.
///
/// Holds no memory: every operation takes the [`TableMemory`] the tables live in.
/// Mapping operations never replace an existing mapping. After changing tables the CPU
/// may still use, the caller invalidates them (INVEPT, or a new ASID / TLB flush on SVM).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageTable<F: EntryFormat> {
    format: F,
    root: u64,
    maxphyaddr: u8,
}

/// Where the walk for one GPA ends.
#[derive(Clone, Copy, Debug)]
pub(super) enum Located {
    /// Nothing is mapped from the GPA up to `end` (exclusive): the walk met a
    /// not-present entry covering that span.
    Empty { end: u64 },
    /// A leaf maps the GPA.
    Leaf {
        table: u64,
        index: usize,
        size: PageSize,
        base: u64,
        leaf: Leaf,
    },
}

impl<F: EntryFormat> PageTable<F> {
    /// A new, empty table: allocates the root (PML4) from `mem`.
    ///
    /// # Errors
    /// [`PagingError::InvalidMaxPhyAddr`] unless `32 <= maxphyaddr <= 52`; allocation
    /// failures.
    pub fn new<M: TableMemory + ?Sized>(
        format: F,
        maxphyaddr: u8,
        mem: &mut M,
    ) -> Result<Self, PagingError> {
        let mut table = Self::from_parts(format, maxphyaddr, 0)?;
        table.root = table.alloc(mem)?;
        Ok(table)
    }

    /// A table whose root already exists at `root`.
    ///
    /// # Errors
    /// [`PagingError::InvalidMaxPhyAddr`]; [`PagingError::BadTableAddress`] if `root` is
    /// misaligned or beyond MAXPHYADDR.
    pub fn from_root(format: F, maxphyaddr: u8, root: u64) -> Result<Self, PagingError> {
        let table = Self::from_parts(format, maxphyaddr, 0)?;
        table.check_table_address(root)?;
        Ok(Self { root, ..table })
    }

    fn from_parts(format: F, maxphyaddr: u8, root: u64) -> Result<Self, PagingError> {
        if (MIN_PHYS_ADDR_BITS..=MAX_PHYS_ADDR_BITS).contains(&maxphyaddr) {
            Ok(Self {
                format,
                root,
                maxphyaddr,
            })
        } else {
            Err(PagingError::InvalidMaxPhyAddr { bits: maxphyaddr })
        }
    }

    /// Host-physical address of the root (PML4) table: what goes into the EPTP or nCR3.
    #[must_use]
    pub fn root(&self) -> u64 {
        self.root
    }

    /// The entry format.
    #[must_use]
    pub fn format(&self) -> &F {
        &self.format
    }

    /// The host physical-address width the table was built for.
    #[must_use]
    pub fn maxphyaddr(&self) -> u8 {
        self.maxphyaddr
    }

    /// Guest-physical addresses must stay below 2^this: a 4-level walk translates 48 bits
    /// and no CPU produces a GPA wider than its physical-address width.
    #[must_use]
    pub fn gpa_bits(&self) -> u8 {
        self.maxphyaddr.min(GPA_BITS)
    }

    /// Maps one page of `size` at `gpa` to `hpa`, write-back.
    ///
    /// # Errors
    /// Misaligned or out-of-range addresses, rights the format cannot express,
    /// [`PagingError::AlreadyMapped`] if any part of the page is mapped, allocation
    /// failures.
    pub fn map<M: TableMemory + ?Sized>(
        &mut self,
        mem: &mut M,
        gpa: u64,
        hpa: u64,
        size: PageSize,
        perms: Perms,
    ) -> Result<(), PagingError> {
        self.map_typed(mem, gpa, hpa, size, perms, MemoryType::WriteBack)
    }

    /// [`PageTable::map`] with an explicit memory type.
    ///
    /// # Errors
    /// As [`PageTable::map`].
    pub fn map_typed<M: TableMemory + ?Sized>(
        &mut self,
        mem: &mut M,
        gpa: u64,
        hpa: u64,
        size: PageSize,
        perms: Perms,
        memory_type: MemoryType,
    ) -> Result<(), PagingError> {
        self.check_gpa(gpa, size.bytes(), size.bytes())?;
        self.check_hpa(hpa, size.bytes(), size.bytes())?;
        let leaf = self
            .format
            .encode_leaf(hpa, size, perms, memory_type)
            .map_err(|error| PagingError::Perms { gpa, error })?;
        let level = match size {
            PageSize::Size4K => Level::Pt,
            PageSize::Size2M => Level::Pd,
        };
        let table = self.table_for(mem, gpa, level)?;
        let index = level.index(gpa);
        let entry = mem.read_entry(table, index);
        match self.decode(entry, level, gpa)? {
            Slot::Empty => {}
            Slot::Table(pt) => {
                // A page table under the 2 MiB slot: usable only if nothing is left in it.
                if let Some(offset) = (0..ENTRIES_PER_TABLE).find(|&i| mem.read_entry(pt, i) != 0) {
                    let mapped = gpa + (offset as u64) * PageSize::Size4K.bytes();
                    return Err(PagingError::AlreadyMapped { gpa: mapped });
                }
                mem.write_entry(table, index, leaf);
                mem.free_table(pt);
                return Ok(());
            }
            Slot::Leaf(_) | Slot::Invalid => return Err(PagingError::AlreadyMapped { gpa }),
        }
        mem.write_entry(table, index, leaf);
        Ok(())
    }

    /// Where `gpa` leads, or `None` if it is not mapped (or out of range, or its walk
    /// meets a corrupt entry; [`PageTable::lookup`] tells those apart).
    #[must_use]
    pub fn translate<M: TableMemory + ?Sized>(&self, mem: &M, gpa: u64) -> Option<Translation> {
        self.lookup(mem, gpa).ok().flatten()
    }

    /// Where `gpa` leads, `Ok(None)` if it is not mapped.
    ///
    /// # Errors
    /// [`PagingError::GpaOutOfRange`]; [`PagingError::CorruptEntry`].
    pub fn lookup<M: TableMemory + ?Sized>(
        &self,
        mem: &M,
        gpa: u64,
    ) -> Result<Option<Translation>, PagingError> {
        self.check_gpa(gpa, 1, 1)?;
        Ok(match self.locate(mem, gpa)? {
            Located::Empty { .. } => None,
            Located::Leaf {
                size, base, leaf, ..
            } => Some(Translation {
                hpa: leaf.hpa + (gpa - base),
                perms: leaf.perms,
                size,
                memory_type: leaf.memory_type,
            }),
        })
    }

    /// Replaces the 2 MiB page containing `gpa` with a page table of 512 4 KiB pages with
    /// the same rights, memory type and contiguous host addresses. The new table is filled
    /// before the PDE is switched to it, so a CPU walking concurrently sees either the old
    /// or the new, equivalent, translation. A GPA already mapped by a 4 KiB page is left
    /// as it is.
    ///
    /// # Errors
    /// [`PagingError::NotMapped`]; allocation failures; out-of-range GPA.
    pub fn split<M: TableMemory + ?Sized>(
        &mut self,
        mem: &mut M,
        gpa: u64,
    ) -> Result<(), PagingError> {
        self.check_gpa(gpa, 1, 1)?;
        match self.locate(mem, gpa)? {
            Located::Empty { .. } => Err(PagingError::NotMapped { gpa }),
            Located::Leaf {
                size: PageSize::Size4K,
                ..
            } => Ok(()),
            Located::Leaf {
                table,
                index,
                size: PageSize::Size2M,
                base,
                leaf,
            } => self.split_leaf(mem, table, index, base, leaf),
        }
    }

    pub(super) fn split_leaf<M: TableMemory + ?Sized>(
        &self,
        mem: &mut M,
        pd: u64,
        index: usize,
        base: u64,
        leaf: Leaf,
    ) -> Result<(), PagingError> {
        let pt = self.alloc(mem)?;
        let step = PageSize::Size4K.bytes();
        for i in 0..ENTRIES_PER_TABLE {
            let offset = (i as u64) * step;
            let entry = self
                .format
                .encode_leaf(
                    leaf.hpa + offset,
                    PageSize::Size4K,
                    leaf.perms,
                    leaf.memory_type,
                )
                .map_err(|error| PagingError::Perms {
                    gpa: base + offset,
                    error,
                });
            match entry {
                Ok(entry) => mem.write_entry(pt, i, entry),
                Err(error) => {
                    mem.free_table(pt);
                    return Err(error);
                }
            }
        }
        mem.write_entry(pd, index, self.format.encode_table(pt));
        Ok(())
    }

    /// Walks to the leaf mapping `gpa` without changing anything.
    pub(super) fn locate<M: TableMemory + ?Sized>(
        &self,
        mem: &M,
        gpa: u64,
    ) -> Result<Located, PagingError> {
        let mut table = self.root;
        let mut level = Level::Pml4;
        loop {
            let index = level.index(gpa);
            let entry = mem.read_entry(table, index);
            match (self.decode(entry, level, gpa)?, level.next()) {
                (Slot::Empty, _) => {
                    let span = level.span();
                    let end = (gpa & !(span - 1)).saturating_add(span);
                    return Ok(Located::Empty { end });
                }
                (Slot::Table(next_table), Some(next_level)) => {
                    table = next_table;
                    level = next_level;
                }
                (Slot::Leaf(leaf), _) if matches!(level, Level::Pd | Level::Pt) => {
                    let size = if level == Level::Pd {
                        PageSize::Size2M
                    } else {
                        PageSize::Size4K
                    };
                    let base = gpa & !size.offset_mask();
                    return Ok(Located::Leaf {
                        table,
                        index,
                        size,
                        base,
                        leaf,
                    });
                }
                _ => return Err(PagingError::CorruptEntry { gpa, level, entry }),
            }
        }
    }

    /// Walks to the table at `level` that holds the entry for `gpa`, creating missing
    /// tables on the way. A page mapped above `level` covers `gpa`: `AlreadyMapped`.
    fn table_for<M: TableMemory + ?Sized>(
        &self,
        mem: &mut M,
        gpa: u64,
        level: Level,
    ) -> Result<u64, PagingError> {
        let mut table = self.root;
        let mut current = Level::Pml4;
        while current != level {
            let Some(next) = current.next() else {
                break;
            };
            let index = current.index(gpa);
            let entry = mem.read_entry(table, index);
            table = match self.decode(entry, current, gpa)? {
                Slot::Table(next_table) => next_table,
                Slot::Empty => {
                    let new = self.alloc(mem)?;
                    mem.write_entry(table, index, self.format.encode_table(new));
                    new
                }
                Slot::Leaf(_) | Slot::Invalid => return Err(PagingError::AlreadyMapped { gpa }),
            };
            current = next;
        }
        Ok(table)
    }

    /// Decodes an entry, turning garbage into an error that names where it was found.
    pub(super) fn decode(&self, entry: u64, level: Level, gpa: u64) -> Result<Slot, PagingError> {
        let slot = self.format.decode(entry, level);
        let bad_table = matches!(slot, Slot::Table(t) if self.check_table_address(t).is_err());
        let bad_leaf = matches!(slot, Slot::Leaf(l) if l.hpa >> self.maxphyaddr != 0);
        if matches!(slot, Slot::Invalid) || bad_table || bad_leaf {
            Err(PagingError::CorruptEntry { gpa, level, entry })
        } else {
            Ok(slot)
        }
    }

    fn alloc<M: TableMemory + ?Sized>(&self, mem: &mut M) -> Result<u64, PagingError> {
        let table = mem.alloc_table()?;
        self.check_table_address(table)?;
        Ok(table)
    }

    fn check_table_address(&self, table: u64) -> Result<(), PagingError> {
        if table % TABLE_SIZE != 0 || table >> self.maxphyaddr != 0 {
            Err(PagingError::BadTableAddress { table })
        } else {
            Ok(())
        }
    }

    /// Checks `[gpa, gpa + len)` is aligned to `align` and below 2^gpa_bits; returns the
    /// end.
    pub(super) fn check_gpa(&self, gpa: u64, len: u64, align: u64) -> Result<u64, PagingError> {
        if gpa % align != 0 {
            return Err(PagingError::MisalignedGpa { gpa, align });
        }
        let bits = self.gpa_bits();
        match gpa.checked_add(len) {
            Some(end) if end <= 1 << bits => Ok(end),
            _ => Err(PagingError::GpaOutOfRange { gpa, len, bits }),
        }
    }

    /// Checks `[hpa, hpa + len)` is aligned to `align` and below 2^MAXPHYADDR.
    pub(super) fn check_hpa(&self, hpa: u64, len: u64, align: u64) -> Result<(), PagingError> {
        if hpa % align != 0 {
            return Err(PagingError::MisalignedHpa { hpa, align });
        }
        let bits = self.maxphyaddr;
        match hpa.checked_add(len) {
            Some(end) if end <= 1 << bits => Ok(()),
            _ => Err(PagingError::HpaOutOfRange { hpa, len, bits }),
        }
    }
}
