//! Bringing up the other CPUs (docs/architecture.md "SMP"): the pure decisions.
//!
//! The kernel starts each application processor with INIT-SIPI-SIPI; the SIPI's vector
//! names a 4 KiB page below 1 MiB where the AP starts in real mode (Intel SDM 3A §9.4.4.1
//! "Typical BSP Initialization Sequence"; AMD APM Vol. 2 §15.27.8 for SVM's INIT). The
//! kernel's real-mode trampoline is assembled for one fixed page ([`TRAMPOLINE`]); this
//! module decides whether the firmware left that page free.

use crate::multiboot::{MemoryRegion, RegionKind};
use core::ops::Range;

/// The page the AP trampoline is copied to: SIPI vector 0x08.
pub const TRAMPOLINE: u64 = 0x8000;
/// The SIPI vector that starts an AP at [`TRAMPOLINE`] (CS = vector << 8, IP = 0).
pub const SIPI_VECTOR: u8 = (TRAMPOLINE >> 12) as u8;
/// The most CPUs the kernel brings up (the size of every per-CPU table).
pub const MAX_CPUS: usize = 16;

/// Whether the page at `page` is RAM the firmware marked available and none of
/// `reserved` (the multiboot structures, the modules) overlaps it.
pub fn page_free(map: &[MemoryRegion], reserved: &[Range<u64>], page: u64) -> bool {
    let end = page + 4096;
    let available = map.iter().any(|r| {
        r.kind == RegionKind::Available && r.base <= page && r.base.saturating_add(r.len) >= end
    });
    available && !reserved.iter().any(|r| r.start < end && page < r.end)
}

/// The value of the kernel argument `cpus=N`: `None` without it (every CPU), else N ≥ 1
/// (0 or garbage reads as 1: the boot CPU alone), capped at [`MAX_CPUS`].
pub fn cpus_arg(value: Option<&str>) -> Option<usize> {
    let v = value?;
    Some(v.parse::<usize>().unwrap_or(1).clamp(1, MAX_CPUS))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ram(base: u64, len: u64) -> MemoryRegion {
        MemoryRegion {
            base,
            len,
            kind: RegionKind::Available,
        }
    }

    #[test]
    fn the_trampoline_page_must_be_available_and_unreserved() {
        let map = [ram(0, 0x9_F000)];
        let (inside, beside) = (0x8800..0x8900, 0x9000..0xA000);
        assert!(page_free(&map, &[], TRAMPOLINE));
        assert!(!page_free(&map, &[inside], TRAMPOLINE));
        assert!(page_free(&map, &[beside], TRAMPOLINE));
        assert!(!page_free(&[ram(0, 0x8800)], &[], TRAMPOLINE));
        assert_eq!(SIPI_VECTOR, 8);
    }

    #[test]
    fn cpus_arg_limits_and_never_drops_the_boot_cpu() {
        assert_eq!(cpus_arg(None), None);
        assert_eq!(cpus_arg(Some("2")), Some(2));
        assert_eq!(cpus_arg(Some("0")), Some(1));
        assert_eq!(cpus_arg(Some("x")), Some(1));
        assert_eq!(cpus_arg(Some("999")), Some(MAX_CPUS));
    }
}
