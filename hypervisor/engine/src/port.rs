//! The ports: the only ways the engine reaches the machine (docs/architecture.md). The
//! kernel implements them over the real CPU and memory; [`crate::fake`] over plain data.

use core::fmt;
use tessera_core::paging::TableMemory;

/// L1's own memory, by host-physical address: the frames it allocates for compartment
/// memory, second-level tables, gate, info and state pages. The kernel's implementation
/// is its one file of integer-to-pointer conversions; it checks that every address lies
/// in memory it manages, so no address the engine computes can reach anything else.
pub trait Memory: TableMemory {
    /// `pages` zeroed frames aligned to `align` bytes (a power of two, at least 4096), or
    /// `None` when no such run is free.
    fn alloc(&mut self, pages: usize, align: u64) -> Option<u64>;
    /// Gives back frames [`Memory::alloc`] returned.
    fn free(&mut self, pa: u64, pages: usize);
    /// Bytes still free, for reports.
    fn free_bytes(&self) -> u64;
    /// Copies `out.len()` bytes from `pa`.
    fn read(&self, pa: u64, out: &mut [u8]);
    /// Copies `bytes` to `pa`.
    fn write(&mut self, pa: u64, bytes: &[u8]);
    /// The u64 at `pa` (8-byte aligned), read once (memory a guest may write concurrently
    /// is read with one access).
    fn read_u64(&self, pa: u64) -> u64 {
        let mut bytes = [0u8; 8];
        self.read(pa, &mut bytes);
        u64::from_le_bytes(bytes)
    }
    /// Writes the u64 at `pa` (8-byte aligned) with one access.
    fn write_u64(&mut self, pa: u64, value: u64) {
        self.write(pa, &value.to_le_bytes());
    }
}

/// Where machine-readable lines and compartment output go (COM1).
pub trait Transcript {
    /// One line (without its newline).
    fn line(&mut self, args: fmt::Arguments<'_>);
}
