//! Fuzz target `multiboot`: the multiboot (v1) information parser
//! (`tessera_core::multiboot`), which reads what the boot loader left in memory, and the
//! frame allocator the kernel builds from the result (`tessera_core::frames`).
//!
//! Input: `magic` (4 bytes, little-endian), `info` address (4 bytes), then the contents of
//! RAM from `RAM_BASE` (every other address is unreadable). Properties: nothing panics; an
//! accepted boot's memory map, modules and command line can be used the way the kernel
//! uses them (free ranges minus modules and structures, then allocations that stay inside
//! free RAM and never overlap).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_core::frames::{FrameAllocator, free_ranges};
use tessera_core::multiboot::{BootInfo, PhysMem, RegionKind};

/// Where the input's RAM starts (the layouts of the seeds put the info block above it).
const RAM_BASE: u64 = 0x8000;

struct Ram<'a>(&'a [u8]);

impl PhysMem for Ram<'_> {
    fn read(&self, addr: u64, len: usize) -> Option<&[u8]> {
        let off = usize::try_from(addr.checked_sub(RAM_BASE)?).ok()?;
        self.0.get(off..off.checked_add(len)?)
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((head, ram)) = data.split_first_chunk::<8>() else {
        return;
    };
    let magic = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
    let info = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    let Ok(boot) = BootInfo::parse(magic, info, &Ram(ram)) else {
        return;
    };
    let _ = boot.args();
    let _ = boot.usable_memory_map();
    let mut reserved: Vec<_> = boot.modules.iter().map(|m| m.start..m.end).collect();
    reserved.extend(boot.structures.iter().cloned());
    let free = free_ranges(&boot.memory_map, &reserved);
    // Empty (and inverted) ranges hold no byte, so they overlap nothing.
    let overlaps = |a: &core::ops::Range<u64>, b: &core::ops::Range<u64>| {
        a.start < a.end && b.start < b.end && a.start < b.end && b.start < a.end
    };
    for r in &free {
        assert!(r.start < r.end && r.start % 4096 == 0 && r.end % 4096 == 0);
        assert!(r.start >= 1 << 20, "below 1 MiB: {r:?}");
        // Free RAM is available in the map, and nothing reserved (by the map, a module or
        // the multiboot structures) lies in it.
        for edge in [r.start, r.end - 1] {
            assert!(
                boot.memory_map
                    .iter()
                    .any(|m| m.kind == RegionKind::Available && m.range().contains(&edge))
            );
        }
        assert!(
            !boot
                .memory_map
                .iter()
                .any(|m| m.kind != RegionKind::Available && overlaps(&m.range(), r))
        );
        assert!(!reserved.iter().any(|x| overlaps(x, r)));
    }
    let mut frames = FrameAllocator::new(free.clone());
    let mut taken: Vec<core::ops::Range<u64>> = Vec::new();
    for (i, b) in ram.iter().take(16).enumerate() {
        let count = usize::from(*b % 8) + 1;
        let align = 4096u64 << (i % 10);
        if let Some(at) = frames.alloc_aligned(count, align) {
            let range = at..at + count as u64 * 4096;
            assert_eq!(at % align, 0);
            assert!(
                free.iter()
                    .any(|r| r.start <= range.start && range.end <= r.end)
            );
            assert!(
                taken
                    .iter()
                    .all(|t| t.end <= range.start || range.end <= t.start)
            );
            taken.push(range);
        }
    }
});
