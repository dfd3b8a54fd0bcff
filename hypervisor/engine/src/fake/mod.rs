//! A machine made of plain data, for host tests of the engine (feature `fake`): memory as
//! a map of pages, a transcript that keeps its lines, and (in [`backend`]) a backend that
//! replays scripted exits.

use crate::port::{Memory, Transcript};
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use tessera_core::paging::{PagingError, TableMemory};

/// First host-physical address the fake hands out.
pub const BASE: u64 = 0x10_0000;

/// Memory as pages allocated on demand from `BASE`, up to `limit` bytes.
#[derive(Debug, Clone)]
pub struct FakeMemory {
    pages: BTreeMap<u64, Box<[u8; 4096]>>,
    next: u64,
    limit: u64,
    free: Vec<(u64, usize)>,
}

impl FakeMemory {
    /// Memory with room for `bytes` of frames.
    pub fn new(bytes: u64) -> Self {
        FakeMemory {
            pages: BTreeMap::new(),
            next: BASE,
            limit: BASE + bytes,
            free: Vec::new(),
        }
    }

    fn page(&self, pa: u64) -> &[u8; 4096] {
        self.pages
            .get(&(pa & !0xFFF))
            .unwrap_or_else(|| panic!("fake memory: {pa:#x} was never allocated"))
    }

    fn page_mut(&mut self, pa: u64) -> &mut [u8; 4096] {
        self.pages
            .get_mut(&(pa & !0xFFF))
            .unwrap_or_else(|| panic!("fake memory: {pa:#x} was never allocated"))
    }

    /// Whether `pa` lies in an allocated page.
    pub fn is_allocated(&self, pa: u64) -> bool {
        self.pages.contains_key(&(pa & !0xFFF))
    }
}

impl TableMemory for FakeMemory {
    fn alloc_table(&mut self) -> Result<u64, PagingError> {
        self.alloc(1, 4096).ok_or(PagingError::OutOfTables)
    }

    fn read_entry(&self, table: u64, index: usize) -> u64 {
        self.read_u64(table + 8 * (index as u64 % 512))
    }

    fn write_entry(&mut self, table: u64, index: usize, value: u64) {
        self.write_u64(table + 8 * (index as u64 % 512), value);
    }
}

impl Memory for FakeMemory {
    fn alloc(&mut self, pages: usize, align: u64) -> Option<u64> {
        let bytes = pages as u64 * 4096;
        if let Some(at) = self
            .free
            .iter()
            .position(|&(pa, n)| n == pages && pa % align == 0)
        {
            let (pa, _) = self.free.swap_remove(at);
            for page in 0..pages as u64 {
                self.pages.insert(pa + page * 4096, Box::new([0; 4096]));
            }
            return Some(pa);
        }
        let start = self.next.next_multiple_of(align);
        if start + bytes > self.limit {
            return None;
        }
        for page in 0..pages as u64 {
            self.pages.insert(start + page * 4096, Box::new([0; 4096]));
        }
        self.next = start + bytes;
        Some(start)
    }

    fn free(&mut self, pa: u64, pages: usize) {
        for page in 0..pages as u64 {
            self.pages.remove(&(pa + page * 4096));
        }
        self.free.push((pa, pages));
    }

    fn free_bytes(&self) -> u64 {
        self.limit - self.next + self.free.iter().map(|(_, n)| *n as u64 * 4096).sum::<u64>()
    }

    fn read(&self, pa: u64, out: &mut [u8]) {
        for (i, byte) in out.iter_mut().enumerate() {
            let at = pa + i as u64;
            *byte = self.page(at)[(at & 0xFFF) as usize];
        }
    }

    fn write(&mut self, pa: u64, bytes: &[u8]) {
        for (i, byte) in bytes.iter().enumerate() {
            let at = pa + i as u64;
            self.page_mut(at)[(at & 0xFFF) as usize] = *byte;
        }
    }
}

/// A transcript that keeps its lines.
#[derive(Debug, Default, Clone)]
pub struct Lines(pub Vec<String>);

impl Transcript for Lines {
    fn line(&mut self, args: fmt::Arguments<'_>) {
        self.0.push(alloc::format!("{args}"));
    }
}

impl Lines {
    /// The lines starting with `@@WORD `.
    pub fn records<'a>(&'a self, word: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |l| l.strip_prefix("@@").is_some_and(|r| r.starts_with(word)))
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_hands_out_zeroed_aligned_frames_and_takes_them_back() {
        let mut mem = FakeMemory::new(1 << 20);
        let a = mem.alloc(1, 4096).expect("a frame");
        let b = mem.alloc(2, 0x4000).expect("two aligned frames");
        assert_eq!(b % 0x4000, 0);
        mem.write_u64(a + 8, 0xFEED);
        assert_eq!(mem.read_u64(a + 8), 0xFEED);
        assert_eq!(mem.read_u64(b + 0x1FF8), 0);
        mem.free(a, 1);
        assert!(!mem.is_allocated(a));
        assert_eq!(mem.alloc(1, 4096), Some(a));
        assert_eq!(mem.read_u64(a + 8), 0, "a frame comes back zeroed");
        assert!(mem.alloc(1 << 10, 4096).is_none());
    }
}
