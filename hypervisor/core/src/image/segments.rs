//! Program headers: what each may be, how `PT_LOAD` segments sit together, and the page
//! mapping plan derived from them.
//!
//! What the loader does with them (hermit-entry 0.10 `KernelObject::mem_size` and
//! `load_kernel`): the image spans from the *first* `PT_LOAD` header's `p_vaddr` to the
//! *last* one's `p_vaddr + p_memsz` (header order, not address order), and each segment
//! is copied to `memory[p_vaddr - base..][..p_memsz]` from `elf[p_offset..][..p_filesz]`,
//! where `base` is 0 for `ET_DYN` and the first `p_vaddr` for `ET_EXEC`. So headers must
//! ascend, a relocatable image must start at 0, and every file range must be in bounds.

use alloc::vec::Vec;

use super::elf::{
    ET_DYN, PF_R, PF_W, PF_X, PT_DYNAMIC, PT_GNU_EH_FRAME, PT_GNU_PROPERTY, PT_GNU_RELRO,
    PT_GNU_STACK, PT_LOAD, PT_NOTE, PT_NULL, PT_PHDR, ProgramHeader,
};
use super::problem::ImageProblem;
use super::{ImageLimits, ImagePlan, MAX_SEGMENT_ALIGN, PAGE_SIZE, Perms, SegmentPlan};

/// The `PT_LOAD` segments of an image that passed [`check`], in ascending order.
#[derive(Debug)]
pub struct Layout {
    /// `ET_DYN`: the loader relocates it, and its base address is 0.
    pub relocatable: bool,
    /// The first segment's `p_vaddr` (0 when relocatable; page-aligned).
    pub base: u64,
    /// The loader's `mem_size()`: last segment end minus `base`.
    pub mem_size: u64,
    /// `(program header index, header)` of every `PT_LOAD`.
    pub loads: Vec<(usize, ProgramHeader)>,
}

impl Layout {
    /// Whether `[vaddr, vaddr + len)` lies inside one `PT_LOAD` segment's memory.
    pub fn contains(&self, vaddr: u64, len: u64) -> bool {
        let Some(end) = vaddr.checked_add(len) else {
            return false;
        };
        self.loads.iter().any(|(_, ph)| {
            ph.p_vaddr <= vaddr && ph.vaddr_end().is_some_and(|seg_end| end <= seg_end)
        })
    }
}

fn supported(p_type: u32) -> bool {
    matches!(
        p_type,
        PT_NULL
            | PT_LOAD
            | PT_DYNAMIC
            | PT_NOTE
            | PT_PHDR
            | PT_GNU_EH_FRAME
            | PT_GNU_STACK
            | PT_GNU_RELRO
            | PT_GNU_PROPERTY
    )
}

/// Checks one program header on its own.
fn check_one(index: usize, ph: &ProgramHeader, file_len: u64) -> Result<(), ImageProblem> {
    if !supported(ph.p_type) {
        return Err(ImageProblem::UnsupportedSegmentType {
            index,
            p_type: ph.p_type,
        });
    }
    if ph.p_type == PT_NULL {
        return Ok(());
    }
    if ph
        .p_offset
        .checked_add(ph.p_filesz)
        .is_none_or(|end| end > file_len)
    {
        return Err(ImageProblem::SegmentOutOfBounds {
            index,
            offset: ph.p_offset,
            filesz: ph.p_filesz,
            file_len,
        });
    }
    if ph.vaddr_end().is_none() {
        return Err(ImageProblem::SegmentWraps { index });
    }
    if ph.p_align != 0 && !ph.p_align.is_power_of_two() {
        return Err(ImageProblem::AlignmentNotPowerOfTwo {
            index,
            align: ph.p_align,
        });
    }
    if ph.p_type == PT_LOAD {
        check_load(index, ph)?;
    }
    Ok(())
}

fn check_load(index: usize, ph: &ProgramHeader) -> Result<(), ImageProblem> {
    if ph.p_filesz > ph.p_memsz {
        return Err(ImageProblem::FileSizeExceedsMemSize {
            index,
            filesz: ph.p_filesz,
            memsz: ph.p_memsz,
        });
    }
    if ph.p_memsz == 0 {
        return Err(ImageProblem::EmptySegment { index });
    }
    let (r, w, x) = (ph.p_flags & PF_R, ph.p_flags & PF_W, ph.p_flags & PF_X);
    if w != 0 && x != 0 {
        return Err(ImageProblem::WritableAndExecutable { index });
    }
    // No access at all is no mapping; write without read is an EPT misconfiguration
    // (SDM 3C "EPT Misconfigurations") and cannot be expressed in NPT either.
    if r | w | x == 0 || (w != 0 && r == 0) {
        return Err(ImageProblem::UnmappablePermissions {
            index,
            flags: ph.p_flags,
        });
    }
    if ph.p_align > MAX_SEGMENT_ALIGN {
        return Err(ImageProblem::AlignmentTooLarge {
            index,
            align: ph.p_align,
        });
    }
    if ph.p_align > 1 && ph.p_vaddr % ph.p_align != ph.p_offset % ph.p_align {
        return Err(ImageProblem::AddressOffsetMismatch {
            index,
            vaddr: ph.p_vaddr,
            offset: ph.p_offset,
            align: ph.p_align,
        });
    }
    Ok(())
}

/// Checks every program header and how the `PT_LOAD` segments fit together.
pub fn check(e_type: u16, phs: &[ProgramHeader], file_len: u64) -> Result<Layout, ImageProblem> {
    for (index, ph) in phs.iter().enumerate() {
        check_one(index, ph, file_len)?;
    }
    let loads: Vec<(usize, ProgramHeader)> = phs
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, ph)| ph.p_type == PT_LOAD)
        .collect();
    let (Some(&(first_index, first)), Some(&(last_index, last))) = (loads.first(), loads.last())
    else {
        return Err(ImageProblem::NoLoadSegment);
    };
    for pair in loads.windows(2) {
        let [(prev_index, prev), (index, next)] = pair else {
            continue;
        };
        if next.p_vaddr < prev.p_vaddr {
            return Err(ImageProblem::SegmentsOutOfOrder { index: *index });
        }
        if prev.vaddr_end().is_none_or(|end| next.p_vaddr < end) {
            return Err(ImageProblem::OverlappingSegments {
                first: *prev_index,
                second: *index,
            });
        }
    }
    let relocatable = e_type == ET_DYN;
    let base_ok = if relocatable {
        first.p_vaddr == 0
    } else {
        first.p_vaddr % PAGE_SIZE == 0
    };
    if !base_ok {
        return Err(ImageProblem::BadImageBase {
            index: first_index,
            vaddr: first.p_vaddr,
            relocatable,
        });
    }
    let end = last
        .vaddr_end()
        .ok_or(ImageProblem::SegmentWraps { index: last_index })?;
    Ok(Layout {
        relocatable,
        base: first.p_vaddr,
        mem_size: end - first.p_vaddr,
        loads,
    })
}

fn perms(flags: u32) -> Perms {
    Perms::new(flags & PF_R != 0, flags & PF_W != 0, flags & PF_X != 0)
}

fn page_up(value: u64) -> Option<u64> {
    value.checked_next_multiple_of(PAGE_SIZE)
}

/// The mapping plan: page-granular segments relative to the image base.
///
/// Merge rule: two segments that touch the same page are merged into one mapping only if
/// their permissions are equal; otherwise the image is refused (mapping the page with
/// either side's permissions would widen the other's, and the union could be W+X).
pub fn plan(layout: &Layout, entry: u64, limits: &ImageLimits) -> Result<ImagePlan, ImageProblem> {
    let mut segments: Vec<SegmentPlan> = Vec::with_capacity(layout.loads.len());
    let mut last_index = 0;
    for &(index, ref ph) in &layout.loads {
        let rel = ph.p_vaddr - layout.base;
        let offset = rel - rel % PAGE_SIZE;
        let end = page_up(rel + ph.p_memsz).ok_or(ImageProblem::SegmentWraps { index })?;
        let seg = SegmentPlan {
            offset,
            len: end - offset,
            perms: perms(ph.p_flags),
        };
        match segments.last_mut() {
            Some(prev) if offset < prev.offset + prev.len => {
                if prev.perms != seg.perms {
                    return Err(ImageProblem::SharedPage {
                        first: last_index,
                        second: index,
                        page_offset: offset,
                    });
                }
                prev.len = end - prev.offset;
            }
            _ => segments.push(seg),
        }
        last_index = index;
    }
    let span = segments.last().map_or(0, |s| s.offset + s.len);
    if span > limits.max_span {
        return Err(ImageProblem::TooLarge {
            needed: span,
            available: limits.max_span,
        });
    }
    let entry_in_code = layout.loads.iter().any(|(_, ph)| {
        ph.p_flags & PF_X != 0 && ph.p_vaddr <= entry && entry - ph.p_vaddr < ph.p_filesz
    });
    if !entry_in_code {
        return Err(ImageProblem::EntryNotExecutable { entry });
    }
    let align = layout
        .loads
        .iter()
        .map(|(_, ph)| ph.p_align)
        .fold(PAGE_SIZE, u64::max);
    Ok(ImagePlan {
        entry_offset: entry - layout.base,
        span,
        mem_size: layout.mem_size,
        fixed_base: (!layout.relocatable).then_some(layout.base),
        align,
        segments,
        exports: Vec::new(),
    })
}
