//! Guest memory as the CPU sees it through a view: instruction fetches (each byte must be
//! executable in the view) and the buffers hypercalls take (guest-virtual addresses,
//! translated through the guest page tables, then checked against the view's permissions
//! for the whole range and copied once, DESIGN §7). Host pages are read through the
//! memory port; the guest is stopped while L1 reads.

use crate::backend::Code;
use crate::ids::ViewId;
use crate::port::{Memory, PAGE};
use crate::world::World;
use tessera_core::exit::Access;
use tessera_core::gva::{self, Mapping};
use tessera_core::paging::{EntryFormat, PageTable, Perms};

/// Copies the bytes at guest-physical `gpa` into `out` if every byte is `allowed` in
/// `view`; `false` (and nothing useful in `out`) otherwise. The whole range is checked
/// before anything is copied.
fn copy_checked<F: EntryFormat, M: Memory>(
    mem: &M,
    view: &PageTable<F>,
    gpa: u64,
    out: &mut [u8],
    allowed: impl Fn(Perms) -> bool,
) -> bool {
    let Some(end) = gpa.checked_add(out.len() as u64) else {
        return false;
    };
    let mut page = gpa & !(PAGE - 1);
    while page < end {
        match view.translate(mem, page) {
            Some(t) if allowed(t.perms) => {}
            _ => return false,
        }
        page += PAGE;
    }
    let mut done = 0usize;
    while done < out.len() {
        let at = gpa + done as u64;
        let Some(t) = view.translate(mem, at) else {
            return false;
        };
        let Some(host) = mem.page(t.hpa & !(PAGE - 1)) else {
            return false;
        };
        let offset = (t.hpa & (PAGE - 1)) as usize;
        let chunk = (PAGE as usize - offset).min(out.len() - done);
        out[done..done + chunk].copy_from_slice(&host[offset..offset + chunk]);
        done += chunk;
    }
    true
}

/// Copies the bytes at guest-physical `gpa` if every one is readable in `view`.
pub fn read_physical<F: EntryFormat, M: Memory>(
    mem: &M,
    view: &PageTable<F>,
    gpa: u64,
    out: &mut [u8],
) -> bool {
    copy_checked(mem, view, gpa, out, |p| p.read)
}

/// The instruction byte at `gpa` as the CPU would fetch it in `view`; if the view does
/// not allow the fetch, `Err` with what the view allows there (nothing where unmapped):
/// the fetch's EPT violation / NPF.
pub fn fetch_byte<F: EntryFormat, M: Memory>(
    mem: &M,
    view: &PageTable<F>,
    gpa: u64,
) -> Result<u8, Access> {
    let mut byte = [0u8; 1];
    if copy_checked(mem, view, gpa, &mut byte, |p| p.execute) {
        return Ok(byte[0]);
    }
    Err(view
        .translate(mem, gpa)
        .map(|t| Access {
            read: t.perms.read,
            write: t.perms.write,
            execute: t.perms.execute,
        })
        .unwrap_or_default())
}

/// What guest-virtual `gva` maps to in `view`: the guest page tables walked as the CPU
/// walks them (`tessera_core::gva`), every paging-structure entry read through `view`
/// (it must be readable there, as for the CPU's own walk). The root is the guest's CR3,
/// always `guest::PAGE_TABLES_GPA`: L1 loads it at entry and refuses every CR3 write.
pub fn translate_virtual<F: EntryFormat, M: Memory>(
    mem: &M,
    view: &PageTable<F>,
    gva: u64,
) -> Option<Mapping> {
    let entry = |gpa: u64| {
        let mut bytes = [0u8; 8];
        read_physical(mem, view, gpa, &mut bytes).then(|| u64::from_le_bytes(bytes))
    };
    gva::translate(entry, tessera_core::guest::PAGE_TABLES_GPA, gva).ok()
}

/// Copies the bytes at guest-virtual `gva` into `out` if the whole range translates and
/// every byte it maps to is readable in `view`. A range with no guest-virtual mapping
/// (such as the guest page tables themselves) is refused even where its guest-physical
/// pages are readable.
pub fn read_virtual<F: EntryFormat, M: Memory>(
    mem: &M,
    view: &PageTable<F>,
    gva: u64,
    out: &mut [u8],
) -> bool {
    let Some(pieces) = gva::pages(gva, out.len()) else {
        return false;
    };
    for (at, offset, len) in pieces {
        let Some(mapping) = translate_virtual(mem, view, at) else {
            return false;
        };
        if !read_physical(mem, view, mapping.gpa, &mut out[offset..offset + len]) {
            return false;
        }
    }
    true
}

/// Instruction bytes through the views of a world: the [`Code`] the engine lends its
/// backend. RIP is used as a guest-physical address: the guest's paging identity-maps
/// every address a compartment can execute (`tessera_core::guest`).
#[derive(Debug)]
pub struct ViewCode<'a, F: EntryFormat, M: Memory>(pub &'a World<F, M>);

impl<F: EntryFormat + Copy, M: Memory> Code for ViewCode<'_, F, M> {
    fn fetch(&self, view: ViewId, at: u64) -> Result<u8, Access> {
        let world = self.0;
        match world.views.get(view.index()) {
            Some(v) => fetch_byte(&world.mem, &v.table, at),
            None => Err(Access::default()),
        }
    }

    fn fetch_root(&self, root: u64, at: u64) -> Result<u8, Access> {
        let world = self.0;
        // Every table of a world has the same format and width.
        let Some(any) = world.views.first() else {
            return Err(Access::default());
        };
        match PageTable::from_root(*any.table.format(), any.table.maxphyaddr(), root) {
            Ok(table) => fetch_byte(&world.mem, &table, at),
            Err(_) => Err(Access::default()),
        }
    }
}
