//! The gate region of every view (docs/gates.md): the shared common-code pages, the slot
//! pages (each view's own copy of the page holding its slot, the shared all-`int3` copy of
//! the other), and each view's info and state pages.

use crate::tables::FrameTables;
use alloc::string::String;
use core::ptr::NonNull;
use tessera_abi::gate::{self, info};
use tessera_core::frames::FrameAllocator;
use tessera_core::paging::{EntryFormat, PageTable, Perms};
use volatile::VolatilePtr;

/// What every view shares.
#[derive(Debug, Clone, Copy)]
pub struct GatePages {
    /// Frames of the common gate code (two pages).
    code: [u64; 2],
    /// Frames of the two all-`int3` slot pages.
    int3: [u64; 2],
    /// Offset of `gate_land` in the code.
    land: u64,
    /// How gate pages are mapped (execute-only where the CPU allows).
    perms: Perms,
}

/// What a view's info page says.
#[derive(Debug, Clone, Copy)]
pub struct Info {
    pub view: usize,
    pub views: usize,
    pub stack_top: u64,
    pub exports: usize,
    pub callers: [u64; 8],
    pub failed: bool,
    /// Most nested activations (manifest `max_depth`).
    pub max_depth: u64,
}

fn frame(frames: &mut FrameAllocator) -> Result<u64, String> {
    crate::mem::zeroed_frame(frames).ok_or_else(|| String::from("out of memory for the gate"))
}

fn copy_page(hpa: u64, bytes: &[u8]) {
    let len = bytes.len().min(4096);
    // SAFETY: `hpa` is a fresh frame owned by L1; at most one page is written.
    unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), hpa as *mut u8, len) };
}

/// The aligned u64 at `offset` (masked into the page) of the L1-owned page at `hpa`, as
/// a volatile pointer: a compartment may write its state page at any time while it runs
/// (on another vCPU, later), so every access is a real load or store, never cached or
/// elided by the compiler. `None` only for a null address, which no frame has (the
/// allocator never hands out the first MiB).
fn word(hpa: u64, offset: u64) -> Option<VolatilePtr<'static, u64>> {
    let at = NonNull::new((hpa + (offset & 0xFF8)) as *mut u64)?;
    // SAFETY: callers pass info/state/list pages L1 allocated (identity-mapped, owned by
    // L1 for the rest of the run, 4 KiB) and offsets inside them from tessera_abi's
    // layouts; the mask keeps the word aligned and inside the page. L1 holds no Rust
    // reference to these pages, so volatile accesses through the pointer alias nothing.
    Some(unsafe { VolatilePtr::new(at) })
}

/// Writes a u64 into an L1-owned page.
pub fn write_u64(hpa: u64, offset: u64, value: u64) {
    if let Some(word) = word(hpa, offset) {
        word.write(value);
    }
}

/// Reads a u64 from an L1-owned page.
pub fn read_u64(hpa: u64, offset: u64) -> u64 {
    word(hpa, offset).map_or(0, VolatilePtr::read)
}

impl GatePages {
    /// Copies the assembled gate code and builds the shared slot pages.
    pub fn build(frames: &mut FrameAllocator, perms: Perms) -> Result<Self, String> {
        let code = crate::gate::code();
        if code.len() as u64 > gate::CODE_SIZE {
            return Err("gate code larger than its area".into());
        }
        let code_hpa = [frame(frames)?, frame(frames)?];
        copy_page(code_hpa[0], &code[..code.len().min(4096)]);
        if code.len() > 4096 {
            copy_page(code_hpa[1], &code[4096..]);
        }
        let land = crate::gate::land_offset();
        let int3 = [frame(frames)?, frame(frames)?];
        for (page, hpa) in int3.iter().enumerate() {
            let bytes = tessera_core::gate::slot_page(page as u64, None, land)
                .map_err(|e| alloc::format!("gate: {e:?}"))?;
            copy_page(*hpa, &bytes);
        }
        Ok(Self {
            code: code_hpa,
            int3,
            land,
            perms,
        })
    }

    /// Maps the gate region into one view and fills its info page. Returns the info and
    /// state pages' frames.
    pub fn map<F: EntryFormat>(
        &self,
        table: &mut PageTable<F>,
        tables: &mut FrameTables<'_>,
        view: &Info,
    ) -> Result<(u64, u64), String> {
        let err = |e| alloc::format!("gate of view {}: {e}", view.view);
        let i = view.view as u64;
        let own = tessera_core::gate::own_page(i);
        let own_hpa = frame(tables.frames)?;
        let own_bytes = tessera_core::gate::slot_page(own, Some(i), self.land)
            .map_err(|e| alloc::format!("gate: {e:?}"))?;
        copy_page(own_hpa, &own_bytes);
        let slots = if own == 0 {
            [own_hpa, self.int3[1]]
        } else {
            [self.int3[0], own_hpa]
        };
        let page = |hpa: u64| {
            // SAFETY: a slot frame filled above or in `build`, owned by L1; read only here.
            unsafe { &*(hpa as *const [u8; 4096]) }
        };
        tessera_core::gate::check_view(i, [page(slots[0]), page(slots[1])], crate::gate::code())
            .map_err(|e| alloc::format!("gate check for view {i}: {e:?}"))?;
        for (k, hpa) in slots.iter().enumerate() {
            table
                .map_range(
                    tables,
                    gate::SLOTS + 0x1000 * k as u64,
                    *hpa,
                    0x1000,
                    self.perms,
                )
                .map_err(err)?;
        }
        for (k, hpa) in self.code.iter().enumerate() {
            table
                .map_range(
                    tables,
                    gate::CODE + 0x1000 * k as u64,
                    *hpa,
                    0x1000,
                    self.perms,
                )
                .map_err(err)?;
        }
        let info_hpa = frame(tables.frames)?;
        let state_hpa = frame(tables.frames)?;
        table
            .map_range(tables, gate::INFO, info_hpa, 0x1000, Perms::R)
            .map_err(err)?;
        table
            .map_range(tables, gate::STATE, state_hpa, 0x1000, Perms::RW)
            .map_err(err)?;
        write_u64(info_hpa, info::MAGIC_OFFSET, info::MAGIC);
        write_u64(info_hpa, info::VIEW, i);
        write_u64(info_hpa, info::SLOT_ADDR, gate::SLOTS + gate::SLOT_SIZE * i);
        write_u64(info_hpa, info::STACK_TOP, view.stack_top);
        write_u64(info_hpa, info::EXPORT_COUNT, view.exports as u64);
        write_u64(info_hpa, info::VIEWS, view.views as u64);
        write_u64(info_hpa, info::FAILED, u64::from(view.failed));
        write_u64(info_hpa, info::MAX_DEPTH, view.max_depth);
        for (w, word) in view.callers.iter().enumerate() {
            write_u64(info_hpa, info::CALLERS + 8 * w as u64, *word);
        }
        Ok((info_hpa, state_hpa))
    }
}
