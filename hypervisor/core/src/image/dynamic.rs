//! The dynamic section and the relocations the loader applies.
//!
//! hermit-entry 0.10 casts the *first* `PT_DYNAMIC` segment's file bytes to `Dyn` entries
//! (unwrapping: it must be 8-byte aligned and in bounds), refuses `DT_NEEDED`, and feeds
//! *every* entry (also those after `DT_NULL`; a later tag overwrites an earlier one) to
//! goblin's `DynamicInfo`. It then asserts `DT_RELCOUNT == 0`, and casts
//! `elf[rela..][..relasz]` to `Rela` entries, where `rela` is `DT_RELA` translated to a file
//! offset through the first `PT_LOAD` whose *memory* range holds it, or 0 when none does
//! (so a bad `DT_RELA` makes it read the ELF header as relocations). `load_kernel` applies
//! them to `ET_DYN` images only, writing 8 bytes at `memory[r_offset..]` and panicking on
//! any type but `R_X86_64_64`, `R_X86_64_GLOB_DAT` and `R_X86_64_RELATIVE`; `DT_REL`,
//! `DT_JMPREL` and `DT_RELR` tables are silently ignored.
//!
//! A static PIE needs only `R_X86_64_RELATIVE` (no symbols to resolve), so that is the one
//! type accepted; the symbol-based types would index `.dynsym` with an unchecked index.
//!
//! No relocation may write into an executable page (DESIGN §6 property 2): the value it
//! writes is `load address + addend`, chosen by whoever wrote the file and by the layout,
//! so it could create the bytes `0F 01 D4` in code whose file holds none. Position-
//! independent code never needs one (rust-lld puts every relocated pointer in `.data`,
//! `.data.rel.ro` or the GOT).

use super::PAGE_SIZE;
use super::elf::{self, ALIGN_64, DYN_SIZE, Dyn, PT_DYNAMIC, PT_LOAD, ProgramHeader, RELA_SIZE};
use super::elf::{PF_X, R_X86_64_RELATIVE, Rela};
use super::problem::{ImageProblem, Region};
use super::segments::Layout;

const DT_NEEDED: u64 = 1;
const DT_RELA: u64 = 7;
const DT_RELASZ: u64 = 8;
const DT_RELAENT: u64 = 9;

/// Tags whose tables the loader does not apply (or, for `DT_RELCOUNT`, asserts to be 0):
/// present with a non-zero value, they mean relocations that would silently be skipped.
const UNAPPLIED: [u64; 13] = [
    2,           // DT_PLTRELSZ
    17,          // DT_REL
    18,          // DT_RELSZ
    23,          // DT_JMPREL
    35,          // DT_RELRSZ
    36,          // DT_RELR
    0x6fff_fffa, // DT_RELCOUNT (the loader asserts it is 0)
    0x6000_000f, // DT_ANDROID_REL
    0x6000_0010, // DT_ANDROID_RELSZ
    0x6000_0011, // DT_ANDROID_RELA
    0x6000_0012, // DT_ANDROID_RELASZ
    0x6fff_e000, // DT_ANDROID_RELR
    0x6fff_e001, // DT_ANDROID_RELRSZ
];

/// The relocation table as the loader will see it.
#[derive(Default)]
struct RelaInfo {
    rela: Option<u64>,
    relasz: Option<u64>,
    relaent: Option<u64>,
}

fn scan(table: &[u8]) -> Result<RelaInfo, ImageProblem> {
    let mut info = RelaInfo::default();
    for entry in elf::records(table, DYN_SIZE).filter_map(Dyn::parse) {
        match entry.tag {
            DT_NEEDED => return Err(ImageProblem::DynamicallyLinked),
            DT_RELA => info.rela = Some(entry.val),
            DT_RELASZ => info.relasz = Some(entry.val),
            DT_RELAENT => info.relaent = Some(entry.val),
            tag if UNAPPLIED.contains(&tag) && entry.val != 0 => {
                return Err(ImageProblem::UnsupportedDynamicTag {
                    tag,
                    value: entry.val,
                });
            }
            _ => {}
        }
    }
    Ok(info)
}

/// goblin's `vm_to_offset`, except that the whole table must lie in the file-backed part
/// of that segment.
fn file_offset(phs: &[ProgramHeader], vaddr: u64, size: u64) -> Option<u64> {
    let ph = phs.iter().find(|ph| {
        ph.p_type == PT_LOAD && vaddr >= ph.p_vaddr && vaddr - ph.p_vaddr < ph.p_memsz
    })?;
    let within = vaddr - ph.p_vaddr;
    if within.checked_add(size)? > ph.p_filesz {
        return None;
    }
    ph.p_offset.checked_add(within)
}

/// The `DT_RELA` table as the loader reads it (`None`: no relocations), with every check
/// of the dynamic section except those of the entries themselves.
pub fn relocation_table<'a>(
    bytes: &'a [u8],
    phs: &[ProgramHeader],
) -> Result<Option<&'a [u8]>, ImageProblem> {
    let mut dynamics = phs.iter().filter(|ph| ph.p_type == PT_DYNAMIC);
    let Some(ph) = dynamics.next() else {
        return Ok(None);
    };
    if dynamics.next().is_some() {
        return Err(ImageProblem::MultipleDynamic);
    }
    if ph.p_filesz % DYN_SIZE != 0 {
        return Err(ImageProblem::DynamicSizeNotMultiple { size: ph.p_filesz });
    }
    let table = elf::region(bytes, Region::Dynamic, ph.p_offset, ph.p_filesz, ALIGN_64)?;
    let info = scan(table)?;
    if let Some(size) = info.relaent.filter(|&size| size != RELA_SIZE) {
        return Err(ImageProblem::WrongRelaEntrySize { size });
    }
    let (vaddr, size) = match (info.rela, info.relasz) {
        (None, None | Some(0)) => return Ok(None),
        (Some(vaddr), Some(size)) => (vaddr, size),
        _ => return Err(ImageProblem::IncompleteRela),
    };
    if size % RELA_SIZE != 0 {
        return Err(ImageProblem::RelaSizeNotMultiple { size });
    }
    let offset =
        file_offset(phs, vaddr, size).ok_or(ImageProblem::RelaNotInFile { vaddr, size })?;
    elf::region(bytes, Region::Relocations, offset, size, ALIGN_64).map(Some)
}

/// The relocations of a table from [`relocation_table`].
pub fn relocations(table: &[u8]) -> impl Iterator<Item = Rela> + '_ {
    elf::records(table, RELA_SIZE).filter_map(Rela::parse)
}

/// Checks the dynamic section and every relocation in it.
pub fn check(bytes: &[u8], phs: &[ProgramHeader], layout: &Layout) -> Result<(), ImageProblem> {
    let Some(table) = relocation_table(bytes, phs)? else {
        return Ok(());
    };
    for (index, rela) in relocations(table).enumerate() {
        check_relocation(index, &rela, layout)?;
    }
    Ok(())
}

fn check_relocation(index: usize, rela: &Rela, layout: &Layout) -> Result<(), ImageProblem> {
    if rela.r_type() != R_X86_64_RELATIVE {
        return Err(ImageProblem::UnsupportedRelocation {
            index,
            r_type: rela.r_type(),
        });
    }
    if rela.r_sym() != 0 {
        return Err(ImageProblem::RelocationWithSymbol {
            index,
            symbol: rela.r_sym(),
        });
    }
    if !layout.contains(rela.offset, 8) {
        return Err(ImageProblem::RelocationOutsideSegments {
            index,
            offset: rela.offset,
        });
    }
    if let Some(segment) = executable_page_overlap(layout, rela.offset) {
        return Err(ImageProblem::RelocationInCode {
            index,
            offset: rela.offset,
            segment,
        });
    }
    // The relocated value is `load address + addend`: a pointer into the image, or one
    // past its end. Bounding it also keeps the loader's `i64` addition from overflowing.
    let inside = u64::try_from(rela.addend)
        .is_ok_and(|a| a >= layout.base && a - layout.base <= layout.mem_size);
    if !inside {
        return Err(ImageProblem::RelocationAddendOutOfImage {
            index,
            addend: rela.addend,
        });
    }
    Ok(())
}

/// The program header index of an executable `PT_LOAD` segment whose pages (the mapping is
/// page-granular: `p_vaddr` rounded down to `p_vaddr + p_memsz` rounded up) overlap the
/// 8 bytes a relocation writes at `offset`.
fn executable_page_overlap(layout: &Layout, offset: u64) -> Option<usize> {
    let end = offset.saturating_add(8);
    layout.loads.iter().find_map(|(index, ph)| {
        let start = ph.p_vaddr - ph.p_vaddr % PAGE_SIZE;
        let stop = ph
            .vaddr_end()
            .and_then(|e| e.checked_next_multiple_of(PAGE_SIZE))
            .unwrap_or(u64::MAX);
        (ph.p_flags & PF_X != 0 && offset < stop && start < end).then_some(*index)
    })
}
