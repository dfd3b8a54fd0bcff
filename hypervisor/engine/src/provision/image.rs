//! Putting a checked image into its view (DESIGN §4): relocated into fresh frames for the
//! guest-physical base the layout planner gave it (by the [`ImageLoader`] port), scanned
//! for rogue `VMFUNC` bytes where it sits (`image::scan_loaded`, DESIGN §6 property 2),
//! given its heap and stack, and mapped. Everything that can go wrong with one image (no frames
//! left for it, `0F 01 D4` in its code) rejects that image alone: what it took is given
//! back, its mappings removed, and the boot goes on.

use super::modules::Checked;
use crate::port::{Frames, ImageLoader, Memory, PAGE};
use crate::world::{Image, Pristine};
use alloc::string::String;
use tessera_core::image::{self, ImageProblem, MemoryPart};
use tessera_core::layout::Region;
use tessera_core::paging::{EntryFormat, PageTable, PagingError, Perms};

/// Why an image was not loaded.
#[derive(Debug)]
pub enum LoadError {
    /// The image is refused; nothing it took is still allocated.
    Reject(ImageProblem),
    /// A bug in L1 (the loader and the validator disagree): the boot stops.
    Bug(String),
}

fn zeroed<M: Memory>(
    mem: &mut M,
    bytes: u64,
    align: u64,
    part: MemoryPart,
) -> Result<Frames, LoadError> {
    usize::try_from(bytes / PAGE)
        .ok()
        .and_then(|pages| mem.alloc(pages, align))
        .ok_or(LoadError::Reject(ImageProblem::OutOfMemory {
            part,
            needed: bytes,
        }))
}

/// Loads `image` for `region` and maps it, its heap and its stack into `table`. `scan`: check
/// the loaded bytes for `VMFUNC` (everything but the conformance fixture, which executes
/// it by design).
pub fn load<F: EntryFormat, M: Memory>(
    mem: &mut M,
    loader: &mut impl ImageLoader<M>,
    (name, image, region): (&str, &Checked<'_>, &Region),
    table: &mut PageTable<F>,
    scan: bool,
) -> Result<Image, LoadError> {
    let plan = &image.plan;
    let frames = zeroed(mem, plan.span, plan.align.max(PAGE), MemoryPart::Image)?;
    let entry = match relocate(mem, loader, (name, image, region), &frames, scan) {
        Ok(entry) => entry,
        Err(e) => {
            mem.free(frames);
            return Err(e);
        }
    };
    let stack_len = region.stack_top - region.stack_bottom;
    let stack = match zeroed(mem, stack_len, PAGE, MemoryPart::Stack) {
        Ok(stack) => stack,
        Err(e) => {
            mem.free(frames);
            return Err(e);
        }
    };
    let heap_len = region.heap_top - region.heap_bottom;
    let heap = match zeroed(mem, heap_len, PAGE, MemoryPart::Heap) {
        Ok(heap) => heap,
        Err(e) => {
            mem.free(frames);
            mem.free(stack);
            return Err(e);
        }
    };
    let loaded = Image {
        plan: plan.clone(),
        entry,
        frames,
        stack,
        heap,
    };
    match map(mem, &loaded, region, table) {
        Ok(()) => Ok(loaded),
        Err(error) => {
            // Nothing else lives in the region, which is 2 MiB-aligned: removing its
            // mappings splits no large page, so it needs no frame and cannot fail.
            let _ = table.unmap(mem, region.base, region.size);
            mem.free(loaded.frames);
            mem.free(loaded.stack);
            mem.free(loaded.heap);
            Err(match error {
                PagingError::OutOfTables => LoadError::Reject(ImageProblem::OutOfMemory {
                    part: MemoryPart::Mappings,
                    needed: PAGE,
                }),
                other => LoadError::Bug(alloc::format!("mapping '{name}' into its view: {other}")),
            })
        }
    }
}

fn relocate<M: Memory>(
    mem: &mut M,
    loader: &mut impl ImageLoader<M>,
    (name, image, region): (&str, &Checked<'_>, &Region),
    frames: &Frames,
    scan: bool,
) -> Result<u64, LoadError> {
    let plan = &image.plan;
    let entry = loader
        .load(mem, frames, image.bytes, plan, region.base)
        .map_err(|e| LoadError::Bug(alloc::format!("module '{name}': {e}")))?;
    if entry != region.base + plan.entry_offset {
        return Err(LoadError::Bug(alloc::format!(
            "module '{name}': loader and validator disagree on the entry point"
        )));
    }
    if scan {
        let span = plan.span as usize;
        image::scan_loaded(plan, &mem.bytes(frames)[..span]).map_err(LoadError::Reject)?;
    }
    Ok(entry)
}

fn map<F: EntryFormat, M: Memory>(
    mem: &mut M,
    image: &Image,
    region: &Region,
    table: &mut PageTable<F>,
) -> Result<(), PagingError> {
    for seg in &image.plan.segments {
        let hpa = image.frames.start() + seg.offset;
        table.map_range(mem, region.base + seg.offset, hpa, seg.len, seg.perms)?;
    }
    // The heap and the stack: RW- in this view only (no other view's table maps them).
    let heap_len = region.heap_top - region.heap_bottom;
    let heap = (region.heap_bottom, image.heap.start(), heap_len);
    table.map_range(mem, heap.0, heap.1, heap.2, Perms::RW)?;
    let stack_len = region.stack_top - region.stack_bottom;
    table.map_range(
        mem,
        region.stack_bottom,
        image.stack.start(),
        stack_len,
        Perms::RW,
    )
}

/// A copy of `image`'s loaded bytes and their SHA-256, to restart it from
/// (world/lifecycle.rs). Taken before any of its code runs. `Err`: no memory left for it
/// (the boot fails: the manifest asked for a restartable compartment L1 cannot keep).
pub fn pristine<M: Memory>(mem: &mut M, image: &Image) -> Result<Pristine, String> {
    let pages = image.frames.pages();
    let copy = mem
        .alloc(pages, PAGE)
        .ok_or("out of memory for a pristine copy of an image")?;
    let span = image.plan.span as usize;
    let mut page = [0u8; PAGE as usize];
    for i in 0..pages as u64 {
        let from = mem
            .page(image.frames.start() + i * PAGE)
            .ok_or("image page")?;
        page.copy_from_slice(from);
        mem.bytes_mut(&copy)[(i * PAGE) as usize..((i + 1) * PAGE) as usize].copy_from_slice(&page);
    }
    let digest = tessera_core::sha256::digest(&mem.bytes(&copy)[..span]);
    Ok(Pristine {
        frames: copy,
        digest,
    })
}
