//! The flag bits of an x86-64 4-level paging entry (Intel SDM Vol. 3A §4.5, tables
//! "Format of a PML4 Entry" … "Format of a Page-Table Entry"; AMD APM Vol. 2 §5.3
//! "Long-Mode Page Translation"). One format serves three users: the guest's own page
//! tables ([`crate::guest`]), the walk L1 makes through them ([`crate::gva`]), and AMD's
//! nested page tables, which use the same entries ([`crate::paging::Npt`]).
//!
//! The address bits (51:12, or 51:21 for a 2 MiB page) are not flags: an entry read from
//! memory keeps them through [`PageTableFlags::from_bits_retain`], and the readers mask
//! them out of the raw value.

use bitflags::bitflags;

bitflags! {
    /// The flags of one paging-structure entry, at any level.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct PageTableFlags: u64 {
        /// Bit 0, P: present.
        const PRESENT = 1 << 0;
        /// Bit 1, R/W: writes allowed (at CPL0 only with CR0.WP = 1).
        const WRITABLE = 1 << 1;
        /// Bit 2, U/S: user-mode accesses allowed (every nested-walk access is one).
        const USER = 1 << 2;
        /// Bit 3, PWT: page-level write-through (PAT index bit 0).
        const WRITE_THROUGH = 1 << 3;
        /// Bit 4, PCD: page-level cache disable (PAT index bit 1).
        const CACHE_DISABLE = 1 << 4;
        /// Bit 5, A: accessed (the CPU sets it on a walk unless already set).
        const ACCESSED = 1 << 5;
        /// Bit 6, D: dirty, in an entry that maps a page.
        const DIRTY = 1 << 6;
        /// Bit 7, PS: in a PDPTE or PDE, the entry maps a 1 GiB or 2 MiB page; reserved in
        /// a PML4E. (In a PTE the same bit is PAT.)
        const PAGE_SIZE = 1 << 7;
        /// Bit 8, G: global, in an entry that maps a page.
        const GLOBAL = 1 << 8;
        /// Bit 12 of an entry mapping a 2 MiB or 1 GiB page: PAT (index bit 2).
        const PAT_LARGE = 1 << 12;
        /// Bit 63, XD/NX: instruction fetches not allowed (with EFER.NXE = 1; reserved
        /// otherwise).
        const NO_EXECUTE = 1 << 63;
    }
}

#[cfg(test)]
mod tests {
    use super::PageTableFlags as F;

    #[test]
    fn bits_are_the_architectural_ones() {
        // SDM 3A Table 4-19/4-20 (bits 0-8), PAT of a large page (bit 12), XD (bit 63).
        assert_eq!(
            F::PRESENT.bits() | F::WRITABLE.bits() | F::USER.bits(),
            0b111
        );
        assert_eq!(F::WRITE_THROUGH.bits() | F::CACHE_DISABLE.bits(), 0x18);
        assert_eq!(
            F::ACCESSED.bits() | F::DIRTY.bits() | F::PAGE_SIZE.bits(),
            0xE0
        );
        assert_eq!(F::GLOBAL.bits(), 0x100);
        assert_eq!(F::PAT_LARGE.bits(), 0x1000);
        assert_eq!(F::NO_EXECUTE.bits(), 0x8000_0000_0000_0000);
    }

    #[test]
    fn address_bits_survive_from_bits_retain() {
        let entry = 0x0000_0012_3456_7000 | 0x63;
        assert_eq!(F::from_bits_retain(entry).bits(), entry);
        assert!(F::from_bits_retain(entry).contains(F::PRESENT | F::DIRTY));
    }
}
