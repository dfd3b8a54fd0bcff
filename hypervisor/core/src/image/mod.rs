//! Compartment image validation: everything hermit-entry's loader assumes, checked first.
//!
//! A compartment is an ELF64 static PIE for `x86_64-unknown-none` carrying hermit-entry's
//! entry-version note (DESIGN.md §4). The kernel hands it to hermit-entry 0.10's loader
//! (`KernelObject::parse`, then `load_kernel`), which reads ELF structures in place and
//! *panics* on many malformed inputs (unchecked slicing, `unwrap`, `assert!`). [`validate`]
//! is a small bounds-checked parser of exactly the structures that loader reads. If it
//! returns `Ok`, the loader neither panics nor misbehaves on the same bytes, and the
//! returned [`ImagePlan`] says how to map the loaded image (DESIGN.md §5: code R-X, rodata
//! R--, data/bss RW-, never W+X).
//!
//! What is checked, and the loader behaviour each check answers, is documented per
//! submodule: file header and header tables (`headers`), program headers and the mapping
//! plan (`segments`), the entry-version note (`notes`), the dynamic section and
//! relocations (`dynamic`), the export table (`exports`).
//!
//! Contract for the kernel:
//! - Validate the same slice (same address) that goes to `KernelObject::parse`: the
//!   loader's casts need it 8-byte aligned, which is checked here.
//! - Call `load_kernel` with a memory slice of exactly [`ImagePlan::mem_size`] bytes (it
//!   asserts this) at a base aligned to [`ImagePlan::align`]; for an image with a
//!   [`ImagePlan::fixed_base`] (`ET_EXEC`) that base and no other (it asserts this too).
//! - Map [`ImagePlan::segments`] at that base with their permissions; pages of the span
//!   outside every segment stay unmapped.
//! - Before mapping, refuse the image if [`scan_loaded`] finds `0F 01 D4` in its
//!   executable memory as loaded (DESIGN §6 property 2); [`load`] lays an image out the
//!   way the loader does, for host tools that have no guest memory to scan.
//! - Refuse the image unless [`check_declared`] finds every export the manifest declares
//!   for it, and write each declared export's address (base + [`ImagePlan::export`])
//!   into the view's info page: the table is the only source of export addresses.
//! - Report a refusal with [`ImageError::reject_line`].

mod dynamic;
mod elf;
mod exports;
mod headers;
mod load;
mod message;
mod notes;
mod problem;
mod reject;
mod segments;
#[cfg(test)]
mod tests;

use alloc::string::String;
use alloc::vec::Vec;

pub use crate::paging::Perms;
pub use exports::{ExportDefect, check_declared};
pub use load::{LoadedImage, load, scan_loaded};
pub use problem::{AbiNote, ImageError, ImageProblem, MemoryPart, NoteDefect, Region};

/// The largest span the kernel accepts for an image before planning the layout (which
/// then checks it fits); xtask's build-time check uses the same limit.
pub const MAX_IMAGE_SPAN: u64 = 256 << 20;
/// Page granularity of the mapping plan.
pub const PAGE_SIZE: u64 = 4096;
/// The largest `p_align` a `PT_LOAD` segment may ask for: a 2 MiB large page, the
/// largest page the second-level tables use.
pub const MAX_SEGMENT_ALIGN: u64 = 2 * 1024 * 1024;
/// The entry version hermit-entry 0.10's loader accepts (`HERMIT_ENTRY_VERSION` in its
/// `lib.rs`; its note is written by `define_entry_version!`). Bump with hermit-entry.
pub const HERMIT_ENTRY_VERSION: u8 = 4;
/// The note type of the entry-version note (hermit-entry `NT_HERMIT_ENTRY_VERSION`); its
/// name is `HERMIT`.
pub const NT_HERMIT_ENTRY_VERSION: u32 = 0x5a00;

/// What the region given to an image can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageLimits {
    /// Bytes available from the image base: the largest acceptable [`ImagePlan::span`].
    pub max_span: u64,
}

/// One mapping of the loaded image, relative to its base.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentPlan {
    /// Offset from the image base; page-aligned.
    pub offset: u64,
    /// Length; a non-zero multiple of [`PAGE_SIZE`].
    pub len: u64,
    /// Permissions from the segment's `p_flags`: never both write and execute, never
    /// write without read, never none.
    pub perms: Perms,
}

/// How to load and map a validated image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImagePlan {
    /// Entry point, relative to the image base (inside an executable segment).
    pub entry_offset: u64,
    /// Bytes from the image base to the end of the last segment, page-rounded.
    pub span: u64,
    /// Exactly the memory length `load_kernel` asserts (hermit-entry's
    /// `KernelObject::mem_size()`): the span before page rounding.
    pub mem_size: u64,
    /// `Some(address)` for an `ET_EXEC` image, which the loader places only at the address
    /// it was linked for; `None` for a relocatable (`ET_DYN`) image.
    pub fixed_base: Option<u64>,
    /// Alignment the image base needs: [`PAGE_SIZE`] or the largest `PT_LOAD` `p_align`.
    pub align: u64,
    /// Mappings in ascending order, non-overlapping, inside `span`.
    pub segments: Vec<SegmentPlan>,
    /// The image's export table (docs/images.md), in table order: names unique, each
    /// offset inside an executable segment's file bytes.
    pub exports: Vec<Export>,
}

impl ImagePlan {
    /// The offset from the image base of export `name`, if the image defines it.
    #[must_use]
    pub fn export(&self, name: &str) -> Option<u64> {
        self.exports
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.offset)
    }
}

/// One entry of an image's export table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Export {
    /// The export's name (what the manifest's `exports=` lists).
    pub name: String,
    /// The function's offset from the image base.
    pub offset: u64,
}

/// Checks a compartment image and plans its mapping.
///
/// `module_name` only labels the error. `bytes` must be the very slice the loader will
/// read (see the module documentation for why its address matters).
///
/// # Errors
/// The first problem found, as an [`ImageError`] naming the module.
pub fn validate(
    module_name: &str,
    bytes: &[u8],
    limits: &ImageLimits,
) -> Result<ImagePlan, ImageError> {
    check(bytes, limits).map_err(|problem| ImageError {
        module: module_name.into(),
        problem,
    })
}

fn check(bytes: &[u8], limits: &ImageLimits) -> Result<ImagePlan, ImageProblem> {
    // The loader casts the buffer to an 8-byte-aligned `Elf64_Ehdr` and fails otherwise.
    let misalignment = (bytes.as_ptr().addr() % 8) as u8;
    if misalignment != 0 {
        return Err(ImageProblem::BufferMisaligned { misalignment });
    }
    let header = headers::file_header(bytes)?;
    let phs = headers::program_headers(bytes, &header)?;
    let sections = headers::section_headers(bytes, &header)?;
    let layout = segments::check(header.e_type, &phs, bytes.len() as u64)?;
    let export_notes = notes::check(bytes, &phs)?;
    dynamic::check(bytes, &phs, &layout)?;
    headers::dynamic_symbols(bytes, &sections)?;
    let mut plan = segments::plan(&layout, header.e_entry, limits)?;
    plan.exports = exports::read(&export_notes, &layout)?;
    Ok(plan)
}
