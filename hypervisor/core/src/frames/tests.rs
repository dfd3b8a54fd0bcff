//! Frame allocation: examples, then properties checked against a block-by-block oracle.

// Lists of ranges that happen to hold one range are what these tests compare.
#![allow(clippy::single_range_in_vec_init)]

use super::*;
use alloc::vec;
use proptest::prelude::*;

const MIB: u64 = 1 << 20;

fn region(base: u64, len: u64, kind: RegionKind) -> MemoryRegion {
    MemoryRegion { base, len, kind }
}

fn avail(base: u64, len: u64) -> MemoryRegion {
    region(base, len, RegionKind::Available)
}

#[test]
fn freed_frames_merge_back_and_double_frees_are_refused() {
    let mut frames = FrameAllocator::new(vec![MIB..4 * MIB]);
    let a = frames.alloc(16).expect("a");
    let b = frames.alloc_aligned(256, 2 * MIB).expect("b");
    assert_eq!((a, b), (MIB, 2 * MIB));
    assert!(frames.free(b, 256));
    assert!(!frames.free(b, 256), "double free");
    assert!(!frames.free(b + 0x800, 1), "misaligned");
    assert!(!frames.free(a, 0), "empty");
    assert!(!frames.free(!0xFFF, 2), "wraps");
    assert!(frames.free(a, 16));
    assert_eq!(frames.free_ranges(), [MIB..4 * MIB]);
    // What was given back can be allocated again.
    assert_eq!(frames.alloc_aligned(512, 2 * MIB), Some(2 * MIB));
}

/// Found by the `multiboot` fuzz target: an empty module (start = end, as QEMU gives an
/// empty `-initrd` entry) and an inverted one hold no byte, so they reserve nothing and
/// do not split the free RAM around them.
#[test]
fn empty_and_inverted_reserved_ranges_reserve_nothing() {
    let map = [avail(MIB, 4 * MIB)];
    let (start, end) = (0x30_0000, 0x28_0000); // a module whose end is below its start
    let reserved = [0x20_3200..0x20_3200, start..end];
    assert_eq!(free_ranges(&map, &reserved), [MIB..5 * MIB]);
}

#[test]
fn qemu_map_minus_kernel_and_modules() {
    let map = [
        avail(0, 0x9_fc00),
        region(0x9_fc00, 0x400, RegionKind::Reserved),
        region(0xf_0000, 0x1_0000, RegionKind::Reserved),
        avail(MIB, 0x0fee_0000),
        region(0x0ffe_0000, 0x2_0000, RegionKind::Reserved),
    ];
    let reserved = [MIB..0x12_3456, 0x20_0100..0x20_0200, 0x9500..0x9600];
    assert_eq!(
        free_ranges(&map, &reserved),
        [0x12_4000..0x20_0000, 0x20_1000..0x0ffe_0000]
    );
}

#[test]
fn unaligned_regions_shrink_and_reserved_wins() {
    let map = [
        avail(0x10_0800, 0x3000),
        avail(0x20_0000, 0x10_0000),
        region(0x28_0000, 0x1000, RegionKind::AcpiReclaimable),
        region(0x2f_f001, 1, RegionKind::Bad),
    ];
    assert_eq!(
        free_ranges(&map, &[]),
        [
            0x10_1000..0x10_3000,
            0x20_0000..0x28_0000,
            0x28_1000..0x2f_f000
        ]
    );
}

#[test]
fn overlapping_and_adjacent_available_entries_merge() {
    let map = [
        avail(0x30_0000, 0x1_0000),
        avail(0x20_0000, 0x10_0000),
        avail(0x20_8000, 0x1000),
        avail(0, 0x20_0000),
    ];
    assert_eq!(free_ranges(&map, &[0..0]), [MIB..0x31_0000]);
}

#[test]
fn nothing_below_one_mib_and_extremes() {
    assert!(free_ranges(&[avail(0, MIB)], &[]).is_empty());
    assert!(free_ranges(&[], &[]).is_empty());
    let top = free_ranges(&[avail(u64::MAX - 0x2fff, 0x3000)], &[]);
    assert_eq!(
        top,
        [u64::MAX - 0x2fff..u64::MAX - 0xfff],
        "the last partial frame is dropped"
    );
    #[allow(clippy::reversed_empty_ranges)]
    let inverted = [0x20_0000..0x10_0000];
    assert_eq!(
        free_ranges(&[avail(MIB, MIB)], &inverted),
        [MIB..2 * MIB],
        "inverted reserved range ignored"
    );
}

#[test]
fn allocator_basics() {
    let mut a = FrameAllocator::new(vec![0x10_1000..0x10_4000, 0x20_0000..0x60_0000]);
    assert_eq!(a.free_bytes(), 0x3000 + 0x40_0000);
    assert_eq!(a.alloc(0), None);
    assert_eq!(a.alloc(2), Some(0x10_1000));
    assert_eq!(a.alloc_aligned(1, 2 * MIB), Some(0x20_0000));
    assert_eq!(a.alloc_aligned(512, 2 * MIB), Some(0x40_0000));
    assert_eq!(a.alloc(1), Some(0x10_3000));
    assert_eq!(a.alloc(1), Some(0x20_1000));
    assert_eq!(a.free_ranges(), [0x20_2000..0x40_0000]);
    assert_eq!(
        a.alloc_aligned(1, 3 * FRAME_SIZE),
        None,
        "not a power of two"
    );
    assert_eq!(a.alloc_aligned(1, 512), None, "below a frame");
    assert_eq!(a.alloc(usize::MAX), None);
    assert_eq!(a.alloc(0x1fe), Some(0x20_2000));
    assert_eq!(a.alloc(1), None);
    assert_eq!(a.free_bytes(), 0);
}

#[test]
fn allocator_sanitizes_input() {
    #[allow(clippy::reversed_empty_ranges)]
    let a = FrameAllocator::new(vec![
        0x5000..0x3000,
        0x2800..0x4800,
        0x1001..0x2fff,
        0x4800..0x6000,
    ]);
    assert_eq!(a.free_ranges(), [0x2000..0x6000]);
}

/// Addresses in the properties are multiples of this block, so a frame is 8 blocks.
const BLOCK: u64 = 512;
const SPACE: u64 = 8 * MIB;

fn kind() -> impl Strategy<Value = RegionKind> {
    prop_oneof![
        3 => Just(RegionKind::Available),
        1 => Just(RegionKind::Reserved),
        1 => Just(RegionKind::Bad),
        1 => Just(RegionKind::Other(9)),
    ]
}

fn memory_map() -> impl Strategy<Value = Vec<MemoryRegion>> {
    let entry = (0..SPACE / BLOCK, 0..SPACE / 2 / BLOCK, kind())
        .prop_map(|(b, l, k)| region(b * BLOCK, l * BLOCK, k));
    proptest::collection::vec(entry, 0..10)
}

fn reserved() -> impl Strategy<Value = Vec<Range<u64>>> {
    let r = (0..SPACE / BLOCK, 0..MIB / BLOCK).prop_map(|(s, l)| s * BLOCK..(s + l) * BLOCK);
    proptest::collection::vec(r, 0..6)
}

/// Oracle: the block at `b` may be handed out.
fn block_free(map: &[MemoryRegion], reserved: &[Range<u64>], b: u64) -> bool {
    let covers = |r: &Range<u64>| r.start <= b && b + BLOCK <= r.end;
    let touches = |r: &Range<u64>| r.start < b + BLOCK && b < r.end;
    b >= LOW_MEMORY_END
        && map
            .iter()
            .any(|m| m.kind == RegionKind::Available && covers(&m.range()))
        && !map
            .iter()
            .any(|m| m.kind != RegionKind::Available && touches(&m.range()))
        && !reserved.iter().any(touches)
}

proptest! {
    #[test]
    fn free_ranges_are_exactly_the_free_frames(map in memory_map(), res in reserved()) {
        let free = free_ranges(&map, &res);
        for w in free.windows(2) {
            prop_assert!(w[0].end < w[1].start, "sorted, disjoint, merged: {:?}", free);
        }
        for r in &free {
            prop_assert!(r.start < r.end && r.start % FRAME_SIZE == 0 && r.end % FRAME_SIZE == 0);
        }
        for f in (0..SPACE).step_by(FRAME_SIZE as usize) {
            let want = (f..f + FRAME_SIZE).step_by(BLOCK as usize).all(|b| block_free(&map, &res, b));
            let got = free.iter().any(|r| r.start <= f && f + FRAME_SIZE <= r.end);
            prop_assert_eq!(got, want, "frame {:#x}", f);
        }
    }

    #[test]
    fn allocations_are_disjoint_aligned_and_free(
        map in memory_map(),
        res in reserved(),
        reqs in proptest::collection::vec((1usize..300, prop_oneof![Just(FRAME_SIZE), Just(0x1_0000), Just(2 * MIB)]), 1..40),
    ) {
        let free = free_ranges(&map, &res);
        let mut a = FrameAllocator::new(free.clone());
        let total = a.free_bytes();
        let mut taken: Vec<Range<u64>> = Vec::new();
        for (frames, align) in reqs {
            let size = frames as u64 * FRAME_SIZE;
            let before = a.clone();
            match a.alloc_aligned(frames, align) {
                Some(start) => {
                    let r = start..start + size;
                    prop_assert_eq!(start % align, 0);
                    prop_assert!(free.iter().any(|f| f.start <= r.start && r.end <= f.end), "{:?} outside free RAM", r);
                    prop_assert!(taken.iter().all(|t| t.end <= r.start || r.end <= t.start), "{:?} overlaps", r);
                    prop_assert_eq!(a.free_bytes() + size, before.free_bytes());
                    taken.push(r);
                }
                None => {
                    prop_assert_eq!(&a, &before);
                    let fits = |f: &Range<u64>| align_up(f.start, align).is_some_and(|s| s + size <= f.end);
                    prop_assert!(!a.free_ranges().iter().any(fits), "room was left");
                }
            }
        }
        let used: u64 = taken.iter().map(|t| t.end - t.start).sum();
        prop_assert_eq!(used + a.free_bytes(), total);
        for t in &taken {
            for b in (t.start..t.end).step_by(BLOCK as usize) {
                prop_assert!(block_free(&map, &res, b), "allocated block {:#x} not free RAM", b);
            }
        }
    }
}
