//! A [`TableMemory`] over the heap, for host tests and for building tables offline.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;

use super::{ENTRIES_PER_TABLE, PagingError, TABLE_SIZE, TableMemory};

/// Tables kept in a map from their (simulated) host-physical address to their entries.
///
/// Reads of an unknown table or an out-of-range index return 0; such writes are dropped.
#[derive(Clone, Debug)]
pub struct SimTables {
    tables: BTreeMap<u64, Box<[u64; ENTRIES_PER_TABLE]>>,
    next: u64,
    limit: Option<usize>,
}

impl SimTables {
    /// An empty store handing out tables at `base`, `base + 4 KiB`, ... (`base` is
    /// rounded down to 4 KiB).
    #[must_use]
    pub fn new(base: u64) -> Self {
        Self {
            tables: BTreeMap::new(),
            next: base & !(TABLE_SIZE - 1),
            limit: None,
        }
    }

    /// The same, refusing to hold more than `limit` tables at once.
    #[must_use]
    pub fn with_limit(base: u64, limit: usize) -> Self {
        Self {
            limit: Some(limit),
            ..Self::new(base)
        }
    }

    /// How many tables are allocated.
    #[must_use]
    pub fn table_count(&self) -> usize {
        self.tables.len()
    }

    /// Whether `table` is an allocated table.
    #[must_use]
    pub fn contains(&self, table: u64) -> bool {
        self.tables.contains_key(&table)
    }
}

impl TableMemory for SimTables {
    fn alloc_table(&mut self) -> Result<u64, PagingError> {
        if self.limit.is_some_and(|limit| self.tables.len() >= limit) {
            return Err(PagingError::OutOfTables);
        }
        let table = self.next;
        self.next = table
            .checked_add(TABLE_SIZE)
            .ok_or(PagingError::OutOfTables)?;
        self.tables.insert(table, Box::new([0; ENTRIES_PER_TABLE]));
        Ok(table)
    }

    fn read_entry(&self, table: u64, index: usize) -> u64 {
        self.tables
            .get(&table)
            .and_then(|entries| entries.get(index))
            .copied()
            .unwrap_or(0)
    }

    fn write_entry(&mut self, table: u64, index: usize, value: u64) {
        if let Some(slot) = self
            .tables
            .get_mut(&table)
            .and_then(|entries| entries.get_mut(index))
        {
            *slot = value;
        }
    }

    fn free_table(&mut self, table: u64) {
        self.tables.remove(&table);
    }
}
