//! The image as loaded, and the rogue-`VMFUNC` scan over it (DESIGN §6 property 2).
//!
//! The kernel loads with hermit-entry and scans the bytes where they sit in guest memory
//! ([`scan_loaded`]). Host tools have no such memory: [`load`] lays an image out exactly
//! as hermit-entry 0.10's `load_kernel` does (each `PT_LOAD` copied to
//! `p_vaddr - base`, the rest of its memory zeroed, then every `R_X86_64_RELATIVE`
//! relocation writing `load address + addend`, in table order), so xtask's build-time
//! check and the host tests scan the very bytes the kernel would. The fuzz target
//! `image` compares [`load`] with hermit-entry's own loader on every image it accepts.
//!
//! What is scanned: every page of every executable mapping of the plan, joined where the
//! mappings are contiguous (two executable segments next to each other), including the
//! page-rounding beyond a segment's end, because the CPU may fetch from any byte of an
//! executable page.

use alloc::vec;
use alloc::vec::Vec;

use super::problem::{ImageError, ImageProblem};
use super::{ImageLimits, ImagePlan, dynamic, elf, headers, validate};
use crate::scan::Scanner;

/// An image laid out in memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadedImage {
    /// How it is mapped.
    pub plan: ImagePlan,
    /// [`ImagePlan::span`] bytes from the image base, as the loader leaves them.
    pub memory: Vec<u8>,
}

/// Validates `bytes` and lays them out as hermit-entry's loader does at `base` (which a
/// fixed-address image ignores: it always loads at its own address).
///
/// # Errors
/// What [`validate`] refuses.
pub fn load(
    module_name: &str,
    bytes: &[u8],
    limits: &ImageLimits,
    base: u64,
) -> Result<LoadedImage, ImageError> {
    let plan = validate(module_name, bytes, limits)?;
    let error = |problem| ImageError {
        module: module_name.into(),
        problem,
    };
    // Validation read the same structures without error, so these do not fail.
    let header = headers::file_header(bytes).map_err(error)?;
    let phs = headers::program_headers(bytes, &header).map_err(error)?;
    let mut memory = vec![0u8; usize::try_from(plan.span).unwrap_or(usize::MAX)];
    let image_base = plan.fixed_base.unwrap_or(0);
    for ph in phs.iter().filter(|ph| ph.p_type == elf::PT_LOAD) {
        let at = (ph.p_vaddr - image_base) as usize;
        let from = ph.p_offset as usize;
        let len = ph.p_filesz as usize;
        if let (Some(to), Some(src)) = (
            memory.get_mut(at..at.saturating_add(len)),
            bytes.get(from..from.saturating_add(len)),
        ) {
            to.copy_from_slice(src);
        }
        // Zeroing the rest of the segment: `memory` starts zeroed, but a later segment
        // must not keep bytes an earlier one put there (segments do not overlap, so this
        // only restates the loader's behaviour).
        let mem_end = at.saturating_add(ph.p_memsz as usize);
        if let Some(rest) = memory.get_mut(at.saturating_add(len)..mem_end) {
            rest.fill(0);
        }
    }
    if plan.fixed_base.is_none() {
        let table = dynamic::relocation_table(bytes, &phs).map_err(error)?;
        for rela in table.into_iter().flat_map(dynamic::relocations) {
            let value = base.wrapping_add_signed(rela.addend).to_le_bytes();
            let at = rela.offset as usize;
            if let Some(to) = memory.get_mut(at..at.saturating_add(8)) {
                to.copy_from_slice(&value);
            }
        }
    }
    Ok(LoadedImage { plan, memory })
}

/// Refuses an image whose executable memory, as loaded, holds the bytes `0F 01 D4`.
/// `memory` is the loaded image from its base, at least [`ImagePlan::span`] bytes.
///
/// # Errors
/// [`ImageProblem::VmfuncBytes`] with the offset (from the image base) of the first
/// occurrence; [`ImageProblem::TooLarge`] if `memory` is shorter than the plan's span.
pub fn scan_loaded(plan: &ImagePlan, memory: &[u8]) -> Result<(), ImageProblem> {
    let mut first = None;
    let mut scanner = Scanner::new();
    for segment in plan.segments.iter().filter(|s| s.perms.execute) {
        let bytes = usize::try_from(segment.offset)
            .ok()
            .zip(usize::try_from(segment.offset + segment.len).ok())
            .and_then(|(start, end)| memory.get(start..end))
            .ok_or(ImageProblem::TooLarge {
                needed: plan.span,
                available: memory.len() as u64,
            })?;
        scanner.feed(segment.offset, bytes, |at| {
            first.get_or_insert(at);
        });
    }
    match first {
        Some(offset) => Err(ImageProblem::VmfuncBytes { offset }),
        None => Ok(()),
    }
}
