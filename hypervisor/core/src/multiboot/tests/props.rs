//! Arbitrary bytes and corrupted layouts: the parser never panics.

use super::*;
use proptest::prelude::*;

proptest! {
    #[test]
    fn random_memory_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512), info in 0u32..0x300) {
        // Pointers in random bytes mostly land outside RAM; small ones land inside.
        let ram = Ram { base: 0, bytes };
        let _ = BootInfo::parse(BOOTLOADER_MAGIC, info, &ram);
    }

    #[test]
    fn corrupted_layout_never_panics(
        pokes in proptest::collection::vec((0u32..0x8000, any::<u32>()), 1..8),
        cut in 0usize..0x8000,
    ) {
        let mut ram = qemu_like();
        for (off, v) in pokes {
            let at = (RAM_BASE as u32 + off) & !3;
            if at + 4 <= RAM_BASE as u32 + 0x8000 {
                ram.put32(at, v);
            }
        }
        ram.bytes.truncate(cut.max(0x1600));
        if let Ok(info) = parse(&ram) {
            prop_assert!(info.structures.iter().all(|r| r.start <= r.end));
            prop_assert!(info.modules.iter().all(|m| m.start <= m.end));
        }
    }
}
