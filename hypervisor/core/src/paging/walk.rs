//! Read-only enumeration of every page a table maps, in guest-physical order: what the
//! final per-view checks (`crate::view_scan`) walk.

use super::{EntryFormat, Level, PageSize, PageTable, PagingError, Perms, Slot, TableMemory};

/// One page a table maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// Guest-physical address of the page (aligned to its size).
    pub gpa: u64,
    /// Host-physical address it maps to.
    pub hpa: u64,
    /// Its size.
    pub size: PageSize,
    /// Its access rights.
    pub perms: Perms,
}

impl<F: EntryFormat> PageTable<F> {
    /// Calls `visit` for every page the table maps, in ascending GPA order.
    ///
    /// # Errors
    /// [`PagingError::CorruptEntry`] for an entry the builder never writes (a 1 GiB page,
    /// a reserved encoding, an address beyond MAXPHYADDR): then nothing after it is
    /// visited.
    pub fn for_each_mapping<M: TableMemory + ?Sized>(
        &self,
        mem: &M,
        mut visit: impl FnMut(Mapping),
    ) -> Result<(), PagingError> {
        self.walk_table(mem, self.root(), Level::Pml4, 0, &mut visit)
    }

    fn walk_table<M: TableMemory + ?Sized>(
        &self,
        mem: &M,
        table: u64,
        level: Level,
        base: u64,
        visit: &mut impl FnMut(Mapping),
    ) -> Result<(), PagingError> {
        for index in 0..super::ENTRIES_PER_TABLE {
            let gpa = base + index as u64 * level.span();
            let entry = mem.read_entry(table, index);
            match (self.decode(entry, level, gpa)?, level.next()) {
                (Slot::Empty, _) => {}
                (Slot::Table(next), Some(below)) => {
                    self.walk_table(mem, next, below, gpa, visit)?
                }
                (Slot::Leaf(leaf), _) if matches!(level, Level::Pd | Level::Pt) => {
                    visit(Mapping {
                        gpa,
                        hpa: leaf.hpa,
                        size: if level == Level::Pd {
                            PageSize::Size2M
                        } else {
                            PageSize::Size4K
                        },
                        perms: leaf.perms,
                    });
                }
                _ => return Err(PagingError::CorruptEntry { gpa, level, entry }),
            }
        }
        Ok(())
    }
}
