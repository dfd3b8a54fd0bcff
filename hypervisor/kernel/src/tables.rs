//! Second-level page tables (EPT now, NPT later) in real frames: `TableMemory` for core's
//! page-table builder, plus reading guest memory through a view for hypercalls (by
//! guest-virtual address, through the guest page tables, then the view).

use tessera_core::frames::FrameAllocator;
use tessera_core::paging::{EntryFormat, PageTable, PagingError, TableMemory};

/// Table memory backed by frames from the allocator (identity-mapped, owned by L1).
pub struct FrameTables<'a> {
    pub frames: &'a mut FrameAllocator,
}

impl core::fmt::Debug for FrameTables<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("FrameTables")
    }
}

fn entry_ptr(table: u64, index: usize) -> *mut u64 {
    (table + (index as u64 % 512) * 8) as *mut u64
}

impl TableMemory for FrameTables<'_> {
    fn alloc_table(&mut self) -> Result<u64, PagingError> {
        crate::mem::zeroed_frame(self.frames).ok_or(PagingError::OutOfTables)
    }

    fn read_entry(&self, table: u64, index: usize) -> u64 {
        // SAFETY: core only passes table addresses this type allocated (identity-mapped
        // frames owned by L1), and the index is reduced to 0..512.
        unsafe { entry_ptr(table, index).read_volatile() }
    }

    fn write_entry(&mut self, table: u64, index: usize, value: u64) {
        // SAFETY: as in `read_entry`; only L1 and the CPU's page walker use these frames.
        unsafe { entry_ptr(table, index).write_volatile(value) }
    }
}

/// Read-only access to existing tables (translation only).
pub struct ReadTables;

impl TableMemory for ReadTables {
    fn alloc_table(&mut self) -> Result<u64, PagingError> {
        Err(PagingError::OutOfTables)
    }

    fn read_entry(&self, table: u64, index: usize) -> u64 {
        // SAFETY: tables reached from a root L1 built are frames L1 owns.
        unsafe { entry_ptr(table, index).read_volatile() }
    }

    fn write_entry(&mut self, _table: u64, _index: usize, _value: u64) {}
}

/// Copies instruction bytes at `gpa` into `out`, but only if every byte may be fetched
/// (is executable) in `view`: how the emulation path reads the instruction that raised
/// #UD, which may sit on an execute-only page.
pub fn fetch_guest<F: EntryFormat>(view: &PageTable<F>, gpa: u64, out: &mut [u8]) -> bool {
    copy_checked(view, gpa, out, |p| p.execute)
}

/// Fetches into `out` as many bytes at `gpa` as `view` lets the CPU fetch (an
/// instruction may end just before a page it cannot execute); returns how many.
pub fn fetch_up_to<F: EntryFormat>(view: &PageTable<F>, gpa: u64, out: &mut [u8]) -> usize {
    let mut n = out.len();
    while n > 0 && !fetch_guest(view, gpa, &mut out[..n]) {
        n -= 1;
    }
    n
}

/// The instruction byte at `gpa` as the CPU would fetch it in `view`; if the view does
/// not allow the fetch, `Err` with what the view allows there (nothing where unmapped):
/// the fetch's EPT violation / NPF, which the emulation path delivers as hardware would.
pub fn fetch_byte<F: EntryFormat>(
    view: &PageTable<F>,
    gpa: u64,
) -> Result<u8, tessera_core::exit::Access> {
    let mut byte = [0u8; 1];
    if fetch_guest(view, gpa, &mut byte) {
        return Ok(byte[0]);
    }
    let allowed = view
        .translate(&ReadTables, gpa)
        .map(|t| tessera_core::exit::Access {
            read: t.perms.read,
            write: t.perms.write,
            execute: t.perms.execute,
        })
        .unwrap_or_default();
    Err(allowed)
}

/// What guest-virtual `gva` maps to in `view`: the guest page tables walked as the CPU
/// walks them (`tessera_core::gva`), every paging-structure entry read through `view`
/// (it must be readable there, as for the CPU's own walk). The root is the guest's CR3,
/// which is always `guest::PAGE_TABLES_GPA`: L1 loads it at entry and refuses every
/// CR3 write (DESIGN §5).
pub fn translate_virtual<F: EntryFormat>(
    view: &PageTable<F>,
    gva: u64,
) -> Option<tessera_core::gva::Mapping> {
    let entry = |gpa: u64| {
        let mut bytes = [0u8; 8];
        read_guest(view, gpa, &mut bytes).then(|| u64::from_le_bytes(bytes))
    };
    tessera_core::gva::translate(entry, tessera_core::guest::PAGE_TABLES_GPA, gva).ok()
}

/// Copies `out.len()` bytes at guest-virtual `gva` into `out`, but only if the whole
/// range translates through the guest page tables and every byte it maps to is readable
/// in `view` (DESIGN §7): the buffers hypercalls take are guest-virtual addresses. A
/// range with no guest-virtual mapping (such as the guest page tables themselves) is
/// refused even where its guest-physical pages are readable. `false` (and `out` holds
/// nothing to use) otherwise.
pub fn read_guest_virtual<F: EntryFormat>(view: &PageTable<F>, gva: u64, out: &mut [u8]) -> bool {
    let Some(pieces) = tessera_core::gva::pages(gva, out.len()) else {
        return false;
    };
    for (at, offset, len) in pieces {
        let Some(mapping) = translate_virtual(view, at) else {
            return false;
        };
        if !read_guest(view, mapping.gpa, &mut out[offset..offset + len]) {
            return false;
        }
    }
    true
}

/// Copies `len` bytes at guest-physical `gpa` into `out`, but only if every byte is
/// readable in `view` (DESIGN §7: checked against the calling view's permissions for the
/// whole range, copied once). Returns `false` (and copies nothing useful) otherwise.
pub fn read_guest<F: EntryFormat>(view: &PageTable<F>, gpa: u64, out: &mut [u8]) -> bool {
    copy_checked(view, gpa, out, |p| p.read)
}

fn copy_checked<F: EntryFormat>(
    view: &PageTable<F>,
    gpa: u64,
    out: &mut [u8],
    allowed: impl Fn(tessera_core::paging::Perms) -> bool,
) -> bool {
    let Some(end) = gpa.checked_add(out.len() as u64) else {
        return false;
    };
    // First check the whole range, then copy: no partial reads of a bad range.
    let mut page = gpa & !0xFFF;
    while page < end {
        match view.translate(&ReadTables, page) {
            Some(t) if allowed(t.perms) => {}
            _ => return false,
        }
        page += 0x1000;
    }
    let mut done = 0usize;
    while done < out.len() {
        let addr = gpa + done as u64;
        let Some(t) = view.translate(&ReadTables, addr) else {
            return false;
        };
        let in_page = (0x1000 - (addr & 0xFFF)) as usize;
        let chunk = in_page.min(out.len() - done);
        // SAFETY: `t.hpa .. t.hpa + chunk` stays inside one page L1 mapped into this view
        // (compartment memory L1 owns, identity-mapped); the guest is stopped (one CPU),
        // and `out` is a distinct L1 buffer of at least `done + chunk` bytes.
        unsafe {
            core::ptr::copy_nonoverlapping(t.hpa as *const u8, out[done..].as_mut_ptr(), chunk)
        };
        done += chunk;
    }
    true
}
