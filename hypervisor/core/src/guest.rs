//! The L2 environment every compartment runs in (DESIGN §5): one identity map of
//! guest-physical memory built from large pages with Accessed/Dirty pre-set, a GDT with
//! a 64-bit code segment, a data segment and a busy TSS, all at fixed guest-physical
//! addresses and mapped read-only in every view, so no page walk or segment load ever
//! needs to write them.
//!
//! Facts relied on (Intel SDM Vol. 3A): §4.5 4-level paging (PML4E/PDPTE bits: P 0,
//! R/W 1, A 5; PDE mapping 2 MiB: PS 7, D 6); §3.4.5 segment descriptors; §7.2.3 the
//! 64-bit TSS descriptor (16 bytes, type 0xB = busy).

use crate::pte::PageTableFlags as F;
use alloc::vec::Vec;

/// Guest-physical address of the guest page tables: PML4, PDPT, four PDs, then one page
/// table for the first 2 MiB.
pub const PAGE_TABLES_GPA: u64 = 0x0010_0000;
/// Number of 4 KiB pages the guest page tables occupy.
pub const PAGE_TABLE_PAGES: u64 = 7;
/// Guest-virtual = guest-physical for `[0, IDENTITY_LIMIT)`.
pub const IDENTITY_LIMIT: u64 = 4 << 30;
/// Guest-physical address of the page holding the GDT (at offset 0) and the TSS.
pub const GDT_GPA: u64 = 0x0010_8000;
/// Offset of the TSS inside the GDT page.
pub const TSS_OFFSET: u64 = 0x800;
/// TSS limit (a 64-bit TSS is 104 bytes).
pub const TSS_LIMIT: u32 = 0x67;

/// Selectors of the guest GDT.
pub const CODE_SELECTOR: u16 = 0x08;
/// Data segment selector (SS, DS, ES; FS and GS are null).
pub const DATA_SELECTOR: u16 = 0x10;
/// Task-state segment selector.
pub const TSS_SELECTOR: u16 = 0x18;

/// VMX access-rights encodings of those segments (SDM 3C §25.4.1, Table 25-2: the
/// descriptor's type/S/DPL/P in bits 7:0, AVL/L/D/G in bits 15:12, "unusable" bit 16).
pub mod access_rights {
    /// Accessed execute/read code, S, P, L = 1 (64-bit), G.
    pub const CODE: u32 = 0xA09B;
    /// Accessed read/write data, S, P, D/B, G.
    pub const DATA: u32 = 0xC093;
    /// Busy 64-bit TSS, P.
    pub const TSS: u32 = 0x008B;
    /// An unusable segment (the LDTR, and FS/GS which are null).
    pub const UNUSABLE: u32 = 1 << 16;
}

/// A table entry: present, writable, accessed (so no walk writes it).
const TABLE: u64 = F::PRESENT.union(F::WRITABLE).union(F::ACCESSED).bits();
/// A 4 KiB page: present, writable, accessed and dirty.
const PAGE_4K: u64 = F::PRESENT
    .union(F::WRITABLE)
    .union(F::ACCESSED)
    .union(F::DIRTY)
    .bits();
/// A 2 MiB page: as a 4 KiB page, with PS.
const PAGE_2M: u64 = PAGE_4K | F::PAGE_SIZE.bits();

/// The guest page tables: `(guest-physical address of the page, its 512 entries)`.
///
/// The first 2 MiB are mapped with 4 KiB pages so that the pages holding the tables
/// themselves have no guest-virtual address at all: no store can reach them, whatever
/// the second-level tables allow (the CPU's walk uses physical addresses). Everything
/// else is identity-mapped with 2 MiB pages.
pub fn page_tables() -> Vec<(u64, [u64; 512])> {
    let pml4_gpa = PAGE_TABLES_GPA;
    let pdpt_gpa = PAGE_TABLES_GPA + 0x1000;
    let pd_gpa = |i: u64| PAGE_TABLES_GPA + 0x2000 + i * 0x1000;
    let mut pml4 = [0u64; 512];
    pml4[0] = pdpt_gpa | TABLE;
    let mut pdpt = [0u64; 512];
    for (i, entry) in pdpt.iter_mut().take(4).enumerate() {
        *entry = pd_gpa(i as u64) | TABLE;
    }
    let mut tables = Vec::from([(pml4_gpa, pml4), (pdpt_gpa, pdpt)]);
    for i in 0..4u64 {
        let mut pd = [0u64; 512];
        for (j, entry) in pd.iter_mut().enumerate() {
            let gpa = ((i << 9) | j as u64) << 21;
            *entry = gpa | PAGE_2M;
        }
        tables.push((pd_gpa(i), pd));
    }
    let pt_gpa = PAGE_TABLES_GPA + 0x6000;
    let mut pt = [0u64; 512];
    let hidden = PAGE_TABLES_GPA..PAGE_TABLES_GPA + PAGE_TABLE_PAGES * 0x1000;
    for (k, entry) in pt.iter_mut().enumerate() {
        let gpa = (k as u64) << 12;
        if !hidden.contains(&gpa) {
            *entry = gpa | PAGE_4K;
        }
    }
    // PD 0, entry 0: the page table instead of a 2 MiB page.
    tables[2].1[0] = pt_gpa | TABLE;
    tables.push((pt_gpa, pt));
    tables
}

/// The GDT page's descriptors (8-byte slots from offset 0): null, code, data, and the
/// two halves of the TSS descriptor pointing at `GDT_GPA + TSS_OFFSET`.
pub fn gdt() -> [u64; 5] {
    let tss = GDT_GPA + TSS_OFFSET;
    let limit = u64::from(TSS_LIMIT);
    let tss_low = (limit & 0xFFFF)
        | ((tss & 0xFF_FFFF) << 16)
        | (0x8B << 40) // busy 64-bit TSS, present
        | (((tss >> 24) & 0xFF) << 56);
    let tss_high = tss >> 32;
    [
        0,
        0x00AF_9B00_0000_FFFF,
        0x00CF_9300_0000_FFFF,
        tss_low,
        tss_high,
    ]
}

/// GDTR limit for [`gdt`].
pub const GDT_LIMIT: u32 = 5 * 8 - 1;

/// First compartment region's guest-physical base (16 MiB, above the tables and GDT).
pub const REGIONS_BASE: u64 = 0x0100_0000;
/// Guest-physical bytes each compartment region spans.
pub const REGION_SIZE: u64 = 0x0100_0000;
/// Guard pages: one between the image and the stack, one above the stack top.
pub const GUARD: u64 = 0x1000;

/// Where one compartment lives in guest-physical memory: its image from `base`, its
/// stack below `stack_top`, an unmapped guard page on each side of the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub base: u64,
    pub stack_bottom: u64,
    pub stack_top: u64,
    /// Largest image span (bytes from `base`) that leaves the lower guard page free.
    pub max_image_span: u64,
}

/// The region of compartment `index` (0-based), or `None` past the identity map.
pub fn region(index: usize, stack_size: u64) -> Option<Region> {
    let base = REGIONS_BASE.checked_add(REGION_SIZE.checked_mul(index as u64)?)?;
    let end = base.checked_add(REGION_SIZE)?;
    if end > IDENTITY_LIMIT || stack_size == 0 || stack_size % 0x1000 != 0 {
        return None;
    }
    let stack_top = end - GUARD;
    let stack_bottom = stack_top.checked_sub(stack_size)?;
    let max_image_span = stack_bottom.checked_sub(GUARD)?.checked_sub(base)?;
    Some(Region {
        base,
        stack_bottom,
        stack_top,
        max_image_span,
    })
}

// Compile-time layout checks: the page tables end before the GDT page, and the GDT ends
// before the TSS inside that page.
const _: () = assert!(PAGE_TABLES_GPA + PAGE_TABLE_PAGES * 0x1000 <= GDT_GPA);
const _: () = assert!((GDT_LIMIT as u64) < TSS_OFFSET);

#[cfg(test)]
mod tests {
    use super::*;

    // The entry bits spelled as numbers (SDM 3A §4.5), independently of `PageTableFlags`.
    const P: u64 = 1 << 0;
    const ACCESSED: u64 = 1 << 5;
    const DIRTY: u64 = 1 << 6;
    const PS: u64 = 1 << 7;

    /// Walks the tables the way the CPU does (SDM 3A §4.5) for a 2 MiB-page address.
    fn walk(tables: &[(u64, [u64; 512])], va: u64) -> Option<u64> {
        let table = |gpa: u64| tables.iter().find(|(g, _)| *g == gpa).map(|(_, t)| t);
        let pml4e = table(PAGE_TABLES_GPA)?[((va >> 39) & 511) as usize];
        let pdpte = table(pml4e & !0xFFF)?[((va >> 30) & 511) as usize];
        if pdpte & P == 0 {
            return None;
        }
        let pde = table(pdpte & !0xFFF)?[((va >> 21) & 511) as usize];
        if pde & PS == 0 {
            assert_eq!(pde & (P | ACCESSED), P | ACCESSED);
            let pte = table(pde & !0xFFF)?[((va >> 12) & 511) as usize];
            if pte & P == 0 {
                return None;
            }
            assert_eq!(pte & (ACCESSED | DIRTY), ACCESSED | DIRTY);
            return Some((pte & !0xFFF & ((1 << 52) - 1)) | (va & 0xFFF));
        }
        assert_eq!(pde & (P | PS | ACCESSED | DIRTY), P | PS | ACCESSED | DIRTY);
        Some((pde & !0x1F_FFFF & ((1 << 52) - 1)) | (va & 0x1F_FFFF))
    }

    #[test]
    fn identity_maps_the_first_4_gib_with_a_and_d_preset() {
        let tables = page_tables();
        assert_eq!(tables.len() as u64, PAGE_TABLE_PAGES);
        for va in [
            0x1000,
            0x1234_5678,
            0x20_0000,
            GDT_GPA + 8,
            IDENTITY_LIMIT - 1,
        ] {
            assert_eq!(walk(&tables, va), Some(va), "{va:#x}");
        }
        // The tables themselves have no guest-virtual address.
        for page in 0..PAGE_TABLE_PAGES {
            assert_eq!(walk(&tables, PAGE_TABLES_GPA + page * 0x1000), None);
        }
        assert!(
            tables
                .iter()
                .all(|(gpa, _)| (PAGE_TABLES_GPA..GDT_GPA).contains(gpa))
        );
        assert_eq!(walk(&tables, IDENTITY_LIMIT), None);
        // Every entry has A set (no walk writes it).
        assert!(
            tables
                .iter()
                .all(|(_, t)| t.iter().all(|e| *e == 0 || e & ACCESSED != 0))
        );
    }

    #[test]
    fn regions_are_disjoint_and_guarded() {
        let a = region(0, 0x10000).expect("first region");
        let b = region(1, 0x10000).expect("second region");
        assert_eq!(a.base, REGIONS_BASE);
        assert!(a.stack_top + GUARD <= b.base, "guard page above a's stack");
        assert_eq!(a.stack_top - a.stack_bottom, 0x10000);
        assert_eq!(a.base + a.max_image_span + GUARD, a.stack_bottom);
        assert!(region(0, 0).is_none() && region(0, 123).is_none());
        // The last region ends at the identity-map limit; the next does not fit.
        let last = ((IDENTITY_LIMIT - REGIONS_BASE) / REGION_SIZE) as usize - 1;
        assert!(region(last, 0x10000).is_some());
        assert!(region(last + 1, 0x10000).is_none());
        assert!(region(usize::MAX, 0x10000).is_none());
    }

    #[test]
    fn tss_descriptor_encodes_base_limit_and_busy_type() {
        let g = gdt();
        let base = ((g[3] >> 16) & 0xFF_FFFF) | (((g[3] >> 56) & 0xFF) << 24) | (g[4] << 32);
        assert_eq!(base, GDT_GPA + TSS_OFFSET);
        assert_eq!(g[3] & 0xFFFF, u64::from(TSS_LIMIT));
        assert_eq!((g[3] >> 40) & 0xFF, 0x8B);
        // Code: L = 1, D = 0, type 0xB, S, P (SDM 3A §5.2.1).
        assert_eq!((g[1] >> 53) & 3, 1);
        assert_eq!(
            u32::try_from((g[1] >> 40) & 0xF0FF).ok(),
            Some(access_rights::CODE)
        );
        assert_eq!(
            u32::try_from((g[2] >> 40) & 0xF0FF).ok(),
            Some(access_rights::DATA)
        );
    }
}
