//! Memory as one byte arena from [`BASE`], handed out by core's frame allocator (the
//! kernel's allocator too): addresses look like host-physical ones, frames are really
//! contiguous, and touching an address outside the arena panics, as an L1 bug should.

use crate::port::{Frames, Memory, PAGE};
use alloc::vec;
use alloc::vec::Vec;
use tessera_core::frames::FrameAllocator;
use tessera_core::paging::{PagingError, TableMemory};

/// First host-physical address of the arena.
pub const BASE: u64 = 0x10_0000;

/// A fake machine's memory.
#[derive(Debug, Clone)]
pub struct FakeMemory {
    arena: Vec<u8>,
    frames: FrameAllocator,
}

impl FakeMemory {
    /// Memory with `bytes` of frames (a multiple of 4 KiB).
    pub fn new(bytes: u64) -> Self {
        FakeMemory {
            arena: vec![0; bytes as usize],
            frames: FrameAllocator::new(core::iter::once(BASE..BASE + bytes).collect()),
        }
    }

    fn offset(&self, pa: u64, len: u64) -> usize {
        let end = pa.checked_add(len);
        assert!(
            pa >= BASE && end.is_some_and(|e| e <= BASE + self.arena.len() as u64),
            "fake memory: {pa:#x}+{len:#x} is outside L1's memory"
        );
        (pa - BASE) as usize
    }

    /// Bytes at `pa` (test inspection).
    pub fn peek(&self, pa: u64, len: usize) -> &[u8] {
        let at = self.offset(pa, len as u64);
        &self.arena[at..at + len]
    }

    /// Writes bytes at `pa`, as a guest (or the test) would.
    pub fn poke(&mut self, pa: u64, bytes: &[u8]) {
        let at = self.offset(pa, bytes.len() as u64);
        self.arena[at..at + bytes.len()].copy_from_slice(bytes);
    }
}

impl TableMemory for FakeMemory {
    fn alloc_table(&mut self) -> Result<u64, PagingError> {
        let frames = self.frame().ok_or(PagingError::OutOfTables)?;
        Ok(frames.start())
    }

    fn read_entry(&self, table: u64, index: usize) -> u64 {
        self.read_u64(table + 8 * (index as u64 % 512))
    }

    fn write_entry(&mut self, table: u64, index: usize, value: u64) {
        self.write_u64(table + 8 * (index as u64 % 512), value);
    }

    fn free_table(&mut self, table: u64) {
        self.free(Frames::owned_by_allocator(table, 1));
    }
}

impl Memory for FakeMemory {
    fn alloc(&mut self, pages: usize, align: u64) -> Option<Frames> {
        let start = self.frames.alloc_aligned(pages, align)?;
        let at = self.offset(start, pages as u64 * PAGE);
        self.arena[at..at + pages * PAGE as usize].fill(0);
        Some(Frames::owned_by_allocator(start, pages))
    }

    fn free(&mut self, frames: Frames) {
        assert!(
            self.frames.free(frames.start(), frames.pages()),
            "fake memory: {frames:?} freed twice or never allocated"
        );
    }

    fn free_bytes(&self) -> u64 {
        self.frames.free_bytes()
    }

    fn bytes(&self, frames: &Frames) -> &[u8] {
        let at = self.offset(frames.start(), frames.len());
        &self.arena[at..at + frames.len() as usize]
    }

    fn bytes_mut(&mut self, frames: &Frames) -> &mut [u8] {
        let at = self.offset(frames.start(), frames.len());
        &mut self.arena[at..at + frames.len() as usize]
    }

    fn page(&self, pa: u64) -> Option<&[u8; 4096]> {
        if pa % PAGE != 0 || pa < BASE || pa + PAGE > BASE + self.arena.len() as u64 {
            return None;
        }
        let at = (pa - BASE) as usize;
        self.arena[at..at + 4096].try_into().ok()
    }

    fn read_u64(&self, pa: u64) -> u64 {
        assert_eq!(pa % 8, 0, "fake memory: unaligned u64 at {pa:#x}");
        let bytes = self.peek(pa, 8);
        u64::from_le_bytes(bytes.try_into().unwrap_or([0; 8]))
    }

    fn write_u64(&mut self, pa: u64, value: u64) {
        assert_eq!(pa % 8, 0, "fake memory: unaligned u64 at {pa:#x}");
        self.poke(pa, &value.to_le_bytes());
    }

    fn compare_exchange_u64(&mut self, pa: u64, current: u64, new: u64) -> Result<u64, u64> {
        // One thread owns the fake machine (`&mut self`): nothing runs in between.
        let found = self.read_u64(pa);
        if found != current {
            return Err(found);
        }
        self.write_u64(pa, new);
        Ok(current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_hands_out_zeroed_aligned_frames_and_takes_them_back() {
        let mut mem = FakeMemory::new(1 << 20);
        let a = mem.frame().expect("a frame");
        let b = mem.alloc(2, 0x4000).expect("two aligned frames");
        assert_eq!(b.start() % 0x4000, 0);
        mem.write_u64(a.start() + 8, 0xFEED);
        assert_eq!(mem.read_u64(a.start() + 8), 0xFEED);
        assert_eq!(mem.bytes(&b).len(), 0x2000);
        let start = a.start();
        mem.free(a);
        let again = mem.frame().expect("the freed frame");
        assert_eq!(again.start(), start);
        assert_eq!(mem.read_u64(start + 8), 0, "a frame comes back zeroed");
        assert!(mem.alloc(1 << 10, PAGE).is_none());
        assert!(mem.page(start + 8).is_none(), "pages are page-aligned");
    }

    #[test]
    #[should_panic(expected = "outside L1's memory")]
    fn an_address_outside_the_arena_is_a_bug() {
        let mem = FakeMemory::new(1 << 16);
        mem.read_u64(BASE + (1 << 16));
    }
}
