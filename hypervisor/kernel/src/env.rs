//! The pages of the fixed L2 environment (`tessera_core::guest`): guest page tables and
//! GDT, built once and mapped read-only in every view.

use alloc::vec::Vec;
use tessera_core::frames::FrameAllocator;
use tessera_core::guest;

/// The guest page tables and GDT page.
#[derive(Debug)]
pub struct SharedPages {
    /// `(guest-physical, host-physical)` of each page.
    pub pages: Vec<(u64, u64)>,
}

impl SharedPages {
    /// Allocates and fills the pages `tessera_core::guest` describes.
    pub fn build(frames: &mut FrameAllocator) -> Option<Self> {
        let mut pages = Vec::new();
        for (gpa, entries) in guest::page_tables() {
            let hpa = crate::mem::zeroed_frame(frames)?;
            // SAFETY: a fresh zeroed frame owned by L1, 4 KiB = 512 entries.
            unsafe { core::ptr::copy_nonoverlapping(entries.as_ptr(), hpa as *mut u64, 512) };
            pages.push((gpa, hpa));
        }
        let hpa = crate::mem::zeroed_frame(frames)?;
        let gdt = guest::gdt();
        // SAFETY: as above; the GDT is 5 entries at the start of the page (the TSS that
        // follows at TSS_OFFSET stays zero, which a 64-bit TSS may be).
        unsafe { core::ptr::copy_nonoverlapping(gdt.as_ptr(), hpa as *mut u64, gdt.len()) };
        pages.push((guest::GDT_GPA, hpa));
        Some(SharedPages { pages })
    }
}
