//! The fixture's case area and the roots its list entries point at
//! (`tessera_core::cases`): each case's code on its own pair of pages, mapped R-X in the
//! fixture compartment's view (the fixture is the one place allowed to execute `VMFUNC`
//! from its own bytes, DESIGN §6 property 2: these pages are added after the final
//! VMFUNC check of every view, and only with `conformance=1`), and the tables a case can
//! switch to: a clone of the base root, a zeroed root, a root with a reserved bit in its
//! first entry, and two copies of the base translations where every case's second page is
//! read-only or unmapped.

use crate::tables::{FrameTables, ReadTables};
use alloc::string::String;
use tessera_core::cases::{self, CASE_AREA, CASE_STRIDE, Case, Tables};
use tessera_core::frames::FrameAllocator;
use tessera_core::paging::{EntryFormat, PageTable, Perms, TableMemory};

/// The roots (host-physical addresses of PML4s) of each kind of tables.
#[derive(Debug, Clone, Copy)]
pub struct Roots {
    pub base: u64,
    pub clone: u64,
    pub unbacked: u64,
    pub misconfig: u64,
    pub next_nx: u64,
    pub next_unmapped: u64,
}

impl Roots {
    pub fn of(&self, tables: Tables) -> u64 {
        match tables {
            Tables::Base => self.base,
            Tables::Clone => self.clone,
            Tables::Unbacked => self.unbacked,
            Tables::Misconfig => self.misconfig,
            Tables::NextNx => self.next_nx,
            Tables::NextUnmapped => self.next_unmapped,
        }
    }
}

fn oom() -> String {
    String::from("out of memory for the conformance fixture")
}

/// A new root sharing every lower-level table of `root`: the same translations under a
/// different pointer (so the CPU and L1 can tell the views apart).
pub fn clone_root(root: u64, frames: &mut FrameAllocator) -> Result<u64, String> {
    let copy = crate::mem::zeroed_frame(frames).ok_or_else(oom)?;
    // SAFETY: `root` is a PML4 L1 built and `copy` a fresh frame, both identity-mapped
    // 4 KiB pages owned by L1.
    unsafe { core::ptr::copy_nonoverlapping(root as *const u8, copy as *mut u8, 4096) };
    Ok(copy)
}

/// Puts every case's code on fresh pages (the rest `int3`) and maps them R-X in `base`.
pub fn map_cases<F: EntryFormat>(
    base: &mut PageTable<F>,
    module: &[u8],
    count: usize,
    frames: &mut FrameAllocator,
) -> Result<(), String> {
    for i in 0..count {
        let case = cases::case(module, i).ok_or("conformance: a case the module check passed")?;
        let hpa = frames.alloc(2).ok_or_else(oom)?;
        if hpa + 2 * 4096 > 1 << 32 {
            return Err(oom());
        }
        let code = case.code();
        let at = case.layout().code as usize;
        // SAFETY: two fresh frames the allocator handed out (below 4 GiB, identity-mapped,
        // owned here).
        unsafe { core::ptr::write_bytes(hpa as *mut u8, 0xCC, 2 * 4096) };
        // SAFETY: as above; `at + code.len()` stays inside them (offsets below 0x1000,
        // code at most 29 bytes), and `code` is a distinct L1 buffer.
        unsafe {
            core::ptr::copy_nonoverlapping(
                code.as_ptr(),
                (hpa as usize + at) as *mut u8,
                code.len(),
            )
        };
        let gpa = CASE_AREA + CASE_STRIDE * i as u64;
        base.map_range(&mut FrameTables { frames }, gpa, hpa, 2 * 4096, Perms::RX)
            .map_err(|e| alloc::format!("conformance: mapping case {i}: {e}"))?;
    }
    Ok(())
}

/// A new table with every mapping of `base`, then every case's second page given
/// `second` (`None`: unmapped).
fn copy_with_second<F: EntryFormat + Copy>(
    base: &PageTable<F>,
    count: usize,
    second: Option<Perms>,
    frames: &mut FrameAllocator,
) -> Result<u64, String> {
    let fail = |e: tessera_core::paging::PagingError| alloc::format!("conformance: {e}");
    let mut mappings = alloc::vec::Vec::new();
    base.for_each_mapping(&ReadTables, |m| mappings.push(m))
        .map_err(fail)?;
    let mut tables = FrameTables { frames };
    let mut copy = PageTable::new(*base.format(), base.maxphyaddr(), &mut tables).map_err(fail)?;
    for m in mappings {
        let len = m.size.bytes();
        copy.map_range(&mut tables, m.gpa, m.hpa, len, m.perms)
            .map_err(fail)?;
    }
    for i in 0..count as u64 {
        let page = CASE_AREA + CASE_STRIDE * i + 0x1000;
        match second {
            Some(perms) => copy.protect(&mut tables, page, 0x1000, perms),
            None => copy.unmap(&mut tables, page, 0x1000),
        }
        .map_err(fail)?;
    }
    Ok(copy.root())
}

/// Builds every root the cases can use (after [`map_cases`]).
pub fn roots<F: EntryFormat + Copy>(
    base: &PageTable<F>,
    count: usize,
    frames: &mut FrameAllocator,
) -> Result<Roots, String> {
    let root = base.root();
    let unbacked = crate::mem::zeroed_frame(frames).ok_or_else(oom)?;
    let misconfig = clone_root(root, frames)?;
    // Entry 0 maps the first 512 GiB (the whole case area): bit 7 is reserved in a PML4E
    // for both formats (SDM 3C §29.3.3.1: EPT misconfiguration; APM Vol. 2 §15.25.5: an
    // NPF with the reserved-bit flag).
    let first = ReadTables.read_entry(misconfig, 0);
    FrameTables { frames }.write_entry(misconfig, 0, first | (1 << 7));
    Ok(Roots {
        base: root,
        clone: clone_root(root, frames)?,
        unbacked,
        misconfig,
        next_nx: copy_with_second(base, count, Some(Perms::R), frames)?,
        next_unmapped: copy_with_second(base, count, None, frames)?,
    })
}

/// Checks the case module and returns its number of cases.
pub fn check_module(module: &[u8]) -> Result<usize, String> {
    cases::count(module).map_err(|e| alloc::format!("conformance: the cases module: {e:?}"))
}

/// Case `i` (of a module [`check_module`] accepted).
pub fn case(module: &[u8], i: usize) -> Option<Case> {
    cases::case(module, i)
}
