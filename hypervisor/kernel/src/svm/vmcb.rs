//! Reading and writing one VMCB (offsets from `tessera_core::svm::vmcb`), an
//! [`OwnedPage`] from `crate::phys`: this file turns no address into a pointer.

use crate::phys::{OwnedPage, Word};
use tessera_core::svm::vmcb::segment;

/// A VMCB: one 4 KiB L1 frame.
#[derive(Debug)]
pub struct Vmcb {
    page: OwnedPage,
}

impl Vmcb {
    /// A VMCB in a fresh zeroed page.
    pub fn new(page: OwnedPage) -> Self {
        Vmcb { page }
    }

    /// Its physical address (what VMRUN is given).
    pub fn pa(&self) -> u64 {
        self.page.start()
    }

    /// Writes a field of `W`'s width (offsets from the APM's layout, naturally aligned).
    pub fn set<W: Word>(&mut self, offset: usize, value: W) {
        self.page.write(offset, value);
    }

    /// Reads a field of `W`'s width.
    pub fn get<W: Word>(&self, offset: usize) -> W {
        self.page.read(offset)
    }

    /// Writes a segment (selector, VMCB attributes, limit, base).
    pub fn set_segment(&mut self, at: usize, selector: u16, attrib: u16, limit: u32, base: u64) {
        self.set(at + segment::SELECTOR, selector);
        self.set(at + segment::ATTRIB, attrib);
        self.set(at + segment::LIMIT, limit);
        self.set(at + segment::BASE, base);
    }
}
