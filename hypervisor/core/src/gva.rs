//! Guest-virtual → guest-physical translation, walking the guest's page tables the way
//! the CPU does (Intel SDM Vol. 3A §4.5, 4-level paging; AMD APM Vol. 2 §5.3): what L1
//! does before it touches a buffer a hypercall names, because a compartment names
//! guest-virtual addresses. Checking such an address as guest-physical instead would let
//! a compartment read what it cannot address at all: the guest page tables have no
//! guest-virtual address ([`crate::guest::page_tables`]), yet their guest-physical pages
//! are readable in every view (the CPU's own walks need that).
//!
//! The walk reads each paging-structure entry through a caller-supplied function: the
//! kernel reads them through the calling view's second-level tables, as the CPU's walk
//! is translated too, so an entry the view cannot read ends the walk.

/// What a guest-virtual address maps to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// The guest-physical address.
    pub gpa: u64,
    /// Writable at CPL0 with CR0.WP = 1: R/W set at every level.
    pub writable: bool,
    /// Executable: XD clear at every level (with EFER.NXE = 1; without it, XD is reserved).
    pub executable: bool,
    /// Bytes of the page it lies in (4 KiB, 2 MiB or 1 GiB).
    pub page_size: u64,
}

/// Why an address does not translate (the CPU would raise #PF, or #GP for a
/// non-canonical address).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WalkFault {
    /// Bits 63:47 are not all equal (SDM 3A §3.3.7.1).
    NonCanonical,
    /// An entry at `level` (4 = PML4E … 1 = PTE) has P = 0.
    NotPresent { level: u8 },
    /// An entry at `level` sets a bit that must be zero (PS in a PML4E).
    Reserved { level: u8 },
    /// The entry at this guest-physical address could not be read.
    Unreadable { gpa: u64 },
}

use crate::pte::PageTableFlags as F;

/// Address bits of an entry (51:12).
const ADDR: u64 = 0x000F_FFFF_FFFF_F000;

/// Translates `gva` through the 4-level tables rooted at `cr3` (its bits 51:12; PCID and
/// flag bits ignored). `read(gpa)` returns the 8-byte entry at `gpa`.
///
/// Reserved-bit checks beyond PS in a PML4E are not made: the tables are L1's, read-only
/// in every view, and set none.
pub fn translate(
    read: impl Fn(u64) -> Option<u64>,
    cr3: u64,
    gva: u64,
) -> Result<Mapping, WalkFault> {
    let top = gva >> 47;
    if top != 0 && top != 0x1_FFFF {
        return Err(WalkFault::NonCanonical);
    }
    let mut table = cr3 & ADDR;
    let mut writable = true;
    let mut executable = true;
    let mut level = 4u8;
    loop {
        let shift = 12 + 9 * u32::from(level - 1);
        let index = (gva >> shift) & 511;
        let at = table + index * 8;
        let entry = read(at).ok_or(WalkFault::Unreadable { gpa: at })?;
        let flags = F::from_bits_retain(entry);
        if !flags.contains(F::PRESENT) {
            return Err(WalkFault::NotPresent { level });
        }
        writable &= flags.contains(F::WRITABLE);
        executable &= !flags.contains(F::NO_EXECUTE);
        let large = flags.contains(F::PAGE_SIZE);
        if large && level == 4 {
            return Err(WalkFault::Reserved { level });
        }
        if level == 1 || large {
            let page_size = 1u64 << shift;
            let base = entry & ADDR & !(page_size - 1);
            return Ok(Mapping {
                gpa: base | (gva & (page_size - 1)),
                writable,
                executable,
                page_size,
            });
        }
        table = entry & ADDR;
        level -= 1;
    }
}

/// The pieces of the guest-virtual range `[gva, gva + len)` that lie in one 4 KiB page
/// each, as `(gva, offset in the range, length)`, in order; `None` if the range wraps
/// around the address space. Every 4 KiB guest-virtual page maps to one 4 KiB
/// guest-physical page whatever the page size, so each piece translates as a whole.
pub fn pages(gva: u64, len: usize) -> Option<impl Iterator<Item = (u64, usize, usize)>> {
    gva.checked_add(len as u64)?;
    let mut offset = 0usize;
    Some(core::iter::from_fn(move || {
        if offset >= len {
            return None;
        }
        let at = gva + offset as u64;
        let in_page = (0x1000 - (at & 0xFFF)) as usize;
        let piece = in_page.min(len - offset);
        let item = (at, offset, piece);
        offset += piece;
        Some(item)
    }))
}

#[cfg(test)]
mod tests;
