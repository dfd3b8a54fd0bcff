//! Physical frame allocation, as pure arithmetic on address ranges.
//!
//! [`free_ranges`] turns the firmware memory map and the ranges already in use (kernel
//! image, modules, multiboot structures) into 4-KiB-aligned free RAM; [`FrameAllocator`]
//! hands out contiguous, aligned runs of frames from it. Nothing here touches memory.

use crate::multiboot::{MemoryRegion, RegionKind};
use alloc::vec::Vec;
use core::ops::Range;

/// Size of one frame: the 4-KiB page (SDM Vol. 3A §4.5, 4-level paging).
pub const FRAME_SIZE: u64 = 4096;
/// Below 1 MiB live the real-mode IVT, BIOS data, EBDA, VGA memory and option ROMs; the
/// multiboot loader may also have left structures there. Never handed out.
pub const LOW_MEMORY_END: u64 = 1 << 20;

fn align_up(x: u64, align: u64) -> Option<u64> {
    let mask = align.checked_sub(1)?;
    Some(x.checked_add(mask)? & !mask)
}

fn align_down(x: u64, align: u64) -> u64 {
    x & !align.saturating_sub(1)
}

/// Sorts ranges and merges those that overlap or touch; drops empty ones.
fn normalize(mut ranges: Vec<Range<u64>>) -> Vec<Range<u64>> {
    ranges.retain(|r| r.start < r.end);
    ranges.sort_unstable_by_key(|r| r.start);
    let mut out: Vec<Range<u64>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// `from` minus `holes`; both sorted and merged (see [`normalize`]), and so is the result.
fn subtract(from: &[Range<u64>], holes: &[Range<u64>]) -> Vec<Range<u64>> {
    let mut out = Vec::new();
    for r in from {
        let mut cursor = r.start;
        for h in holes.iter().filter(|h| h.start < r.end && h.end > r.start) {
            if h.start > cursor {
                out.push(cursor..h.start);
            }
            cursor = cursor.max(h.end);
        }
        if cursor < r.end {
            out.push(cursor..r.end);
        }
    }
    out
}

/// Shrinks each range to whole frames, dropping those with none.
fn frame_aligned(ranges: Vec<Range<u64>>) -> Vec<Range<u64>> {
    ranges
        .into_iter()
        .filter_map(|r| {
            let start = align_up(r.start, FRAME_SIZE)?;
            let end = align_down(r.end, FRAME_SIZE);
            (start < end).then_some(start..end)
        })
        .collect()
}

/// The RAM that is free to allocate: `Available` regions of the memory map, minus every
/// other region of the map (a region reported both available and reserved is reserved),
/// minus `reserved`, minus the first MiB, shrunk to whole 4-KiB frames, sorted and merged.
pub fn free_ranges(memory_map: &[MemoryRegion], reserved: &[Range<u64>]) -> Vec<Range<u64>> {
    let (avail, other): (Vec<&MemoryRegion>, Vec<&MemoryRegion>) = memory_map
        .iter()
        .partition(|r| r.kind == RegionKind::Available);
    let avail = normalize(avail.iter().map(|r| r.range()).collect());
    let mut holes: Vec<Range<u64>> = other.iter().map(|r| r.range()).collect();
    holes.extend(reserved.iter().cloned());
    holes.push(0..LOW_MEMORY_END);
    let holes = normalize(holes);
    normalize(frame_aligned(subtract(&avail, &holes)))
}

/// First-fit allocator over free physical ranges. The hypervisor sizes everything at boot;
/// [`FrameAllocator::free`] only gives back what loading an image took when a later
/// allocation for the same image fails, so that one image cannot use up the memory of
/// the others (it is then rejected alone).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrameAllocator {
    free: Vec<Range<u64>>,
}

impl FrameAllocator {
    /// An allocator over `ranges` (normally from [`free_ranges`]); they are sorted, merged
    /// and shrunk to whole frames again here, so any input is safe.
    pub fn new(ranges: Vec<Range<u64>>) -> Self {
        FrameAllocator {
            free: normalize(frame_aligned(normalize(ranges))),
        }
    }

    /// `frames` contiguous 4-KiB frames; returns the physical address of the first.
    pub fn alloc(&mut self, frames: usize) -> Option<u64> {
        self.alloc_aligned(frames, FRAME_SIZE)
    }

    /// `frames` contiguous frames starting at a multiple of `align` (a power of two of at
    /// least 4 KiB, e.g. 2 MiB for a large page). `None` when `frames` is 0, `align` is not
    /// such a power of two, or no free range has room.
    pub fn alloc_aligned(&mut self, frames: usize, align: u64) -> Option<u64> {
        if frames == 0 || !align.is_power_of_two() || align < FRAME_SIZE {
            return None;
        }
        let size = u64::try_from(frames).ok()?.checked_mul(FRAME_SIZE)?;
        let (i, start, end) = self.free.iter().enumerate().find_map(|(i, r)| {
            let start = align_up(r.start, align)?;
            let end = start.checked_add(size)?;
            (end <= r.end).then_some((i, start, end))
        })?;
        let r = self.free.get(i)?.clone();
        let pieces = [r.start..start, end..r.end]
            .into_iter()
            .filter(|p| p.start < p.end);
        self.free.splice(i..=i, pieces);
        Some(start)
    }

    /// Gives back `frames` frames from `start`, which an earlier allocation returned and
    /// nothing uses any more. Refuses (returns `false`, changing nothing) a range that is
    /// not frame-aligned, is empty, wraps, or overlaps memory already free.
    pub fn free(&mut self, start: u64, frames: usize) -> bool {
        let Some(end) = u64::try_from(frames)
            .ok()
            .and_then(|n| n.checked_mul(FRAME_SIZE))
            .and_then(|len| start.checked_add(len))
        else {
            return false;
        };
        if frames == 0 || start % FRAME_SIZE != 0 {
            return false;
        }
        if self.free.iter().any(|r| r.start < end && start < r.end) {
            return false;
        }
        let mut ranges = core::mem::take(&mut self.free);
        ranges.push(start..end);
        self.free = normalize(ranges);
        true
    }

    /// Bytes still free.
    pub fn free_bytes(&self) -> u64 {
        self.free.iter().fold(0, |sum, r| {
            sum.saturating_add(r.end.saturating_sub(r.start))
        })
    }

    /// The free ranges, sorted, disjoint and frame-aligned.
    pub fn free_ranges(&self) -> &[Range<u64>] {
        &self.free
    }
}

#[cfg(test)]
#[path = "frames/tests.rs"]
mod tests;
