//! Reading and writing one VMCB (offsets from `tessera_core::svm::vmcb`).

use tessera_core::svm::vmcb::segment;

/// A VMCB: one 4 KiB L1 frame.
#[derive(Debug)]
pub struct Vmcb {
    /// Its physical (= L1 virtual) address.
    pub pa: u64,
}

impl Vmcb {
    fn at<T>(&self, offset: usize) -> *mut T {
        (self.pa + (offset as u64 & 0xFFF)) as *mut T
    }

    /// Writes a field of `T`'s width.
    pub fn set<T: Copy>(&self, offset: usize, value: T) {
        // SAFETY: the VMCB is an L1-owned, identity-mapped page; offsets come from the
        // APM's layout (masked into the page) and every field is naturally aligned.
        unsafe { self.at::<T>(offset).write_volatile(value) }
    }

    /// Reads a field of `T`'s width.
    pub fn get<T: Copy>(&self, offset: usize) -> T {
        // SAFETY: as in `set`.
        unsafe { self.at::<T>(offset).read_volatile() }
    }

    /// Writes a segment (selector, VMCB attributes, limit, base).
    pub fn set_segment(&self, at: usize, selector: u16, attrib: u16, limit: u32, base: u64) {
        self.set(at + segment::SELECTOR, selector);
        self.set(at + segment::ATTRIB, attrib);
        self.set(at + segment::LIMIT, limit);
        self.set(at + segment::BASE, base);
    }
}
