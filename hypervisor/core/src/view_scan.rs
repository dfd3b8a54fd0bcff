//! The last check before anything runs (DESIGN §6 property 2, defence in depth): every
//! executable page of a view, read through the view's own second-level table and joined
//! where guest-physically contiguous, holds `0F 01 D4` exactly once, at the view's own
//! gate slot.
//!
//! The image scan (`image::scan_loaded`) and the gate check (`gate::check_view`) each
//! look at what they were given; this looks at what the CPU will actually be able to
//! fetch in the view, whatever put it there. A failure here is a bug in L1 (the earlier
//! checks should have refused the bytes, or something is mapped executable that should
//! not be), so the boot stops with the view, the guest-physical address and what was
//! expected.

use core::fmt;
use core::ops::Range;

use crate::paging::{EntryFormat, PageTable, PagingError, TableMemory};
use crate::scan::Scanner;

/// Read access to the host-physical pages a view maps (the kernel reads them through its
/// identity map; tests keep them in a map).
pub trait HostPages {
    /// The 4 KiB page at host-physical `hpa` (4 KiB-aligned), if it can be read.
    fn page(&self, hpa: u64) -> Option<&[u8; 4096]>;
}

/// Why a view failed the check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ViewScanError {
    /// The table could not be walked.
    Paging(PagingError),
    /// An executable page whose host page cannot be read.
    Unreadable {
        /// Guest-physical address of the page.
        gpa: u64,
        /// The host page it maps.
        hpa: u64,
    },
    /// `0F 01 D4` is executable somewhere other than the view's own slot.
    Stray {
        /// Guest-physical address of its first byte.
        gpa: u64,
        /// Where the only occurrence should be.
        slot: u64,
    },
    /// The view's own slot does not hold `VMFUNC` (or is not executable).
    MissingSlot {
        /// The slot's guest-physical address.
        slot: u64,
    },
}

impl fmt::Display for ViewScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Paging(e) => write!(f, "cannot walk its table: {e}"),
            Self::Unreadable { gpa, hpa } => {
                write!(
                    f,
                    "executable page {gpa:#x} maps unreadable host page {hpa:#x}"
                )
            }
            Self::Stray { gpa, slot } => write!(
                f,
                "VMFUNC bytes 0F 01 D4 are executable at {gpa:#x}; only its slot {slot:#x} may hold them"
            ),
            Self::MissingSlot { slot } => {
                write!(
                    f,
                    "its gate slot {slot:#x} does not hold an executable VMFUNC"
                )
            }
        }
    }
}

impl From<PagingError> for ViewScanError {
    fn from(e: PagingError) -> Self {
        Self::Paging(e)
    }
}

/// Checks the view whose table is `table`: the sequence occurs in its executable memory
/// exactly once, at guest-physical `slot`. Occurrences that start in `exempt` (the
/// conformance fixture's own image, which executes `VMFUNC` by design) are ignored.
///
/// # Errors
/// The first problem found, in guest-physical order.
pub fn check_view<F: EntryFormat, M: TableMemory + ?Sized, H: HostPages + ?Sized>(
    table: &PageTable<F>,
    mem: &M,
    host: &H,
    slot: u64,
    exempt: Option<Range<u64>>,
) -> Result<(), ViewScanError> {
    let mut executable = alloc::vec::Vec::new();
    table.for_each_mapping(mem, |m| {
        if m.perms.execute {
            executable.push(m);
        }
    })?;
    let mut scanner = Scanner::new();
    let mut seen_slot = false;
    let mut stray = None;
    for mapping in executable {
        let pages = mapping.size.bytes() / 0x1000;
        for k in 0..pages {
            let (gpa, hpa) = (mapping.gpa + k * 0x1000, mapping.hpa + k * 0x1000);
            let bytes = host
                .page(hpa)
                .ok_or(ViewScanError::Unreadable { gpa, hpa })?;
            scanner.feed(gpa, bytes, |at| {
                if at == slot {
                    seen_slot = true;
                } else if stray.is_none() && !exempt.as_ref().is_some_and(|r| r.contains(&at)) {
                    stray = Some(at);
                }
            });
        }
    }
    match (stray, seen_slot) {
        (Some(gpa), _) => Err(ViewScanError::Stray { gpa, slot }),
        (None, false) => Err(ViewScanError::MissingSlot { slot }),
        (None, true) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paging::{Ept, Perms, SimTables};
    use alloc::collections::BTreeMap;

    struct Pages(BTreeMap<u64, [u8; 4096]>);

    impl HostPages for Pages {
        fn page(&self, hpa: u64) -> Option<&[u8; 4096]> {
            self.0.get(&hpa)
        }
    }

    const SLOT: u64 = 0x20_0030;

    /// A view: a gate page with VMFUNC at SLOT (R-X), a code page right after it in GPA
    /// (R-X, separate host page), a data page (RW-), and an R-X page further up.
    fn view() -> (PageTable<Ept>, SimTables, Pages) {
        let mut mem = SimTables::new(0x10_0000_0000);
        let mut table = PageTable::new(Ept::new(true), 39, &mut mem).unwrap();
        let mut pages = BTreeMap::new();
        let mut gate = [0xCCu8; 4096];
        gate[0x30..0x33].copy_from_slice(&crate::scan::VMFUNC);
        for (gpa, hpa, perms, bytes) in [
            (0x20_0000, 0x7000, Perms::RX, gate),
            (0x20_1000, 0x3000, Perms::RX, [0x90; 4096]),
            (0x20_2000, 0x5000, Perms::RW, [0x0F; 4096]),
            (0x100_0000, 0x9000, Perms::RX, [0x90; 4096]),
        ] {
            table.map_range(&mut mem, gpa, hpa, 0x1000, perms).unwrap();
            pages.insert(hpa, bytes);
        }
        (table, mem, Pages(pages))
    }

    #[test]
    fn only_the_own_slot_passes() {
        let (table, mem, pages) = view();
        assert_eq!(check_view(&table, &mem, &pages, SLOT, None), Ok(()));
        assert_eq!(
            check_view(&table, &mem, &pages, SLOT + 16, None),
            Err(ViewScanError::Stray {
                gpa: SLOT,
                slot: SLOT + 16
            })
        );
    }

    #[test]
    fn bytes_across_guest_contiguous_pages_count_whatever_the_host_pages() {
        let (table, mem, mut pages) = view();
        pages.0.get_mut(&0x7000).unwrap()[4094..].copy_from_slice(&[0x0F, 0x01]);
        pages.0.get_mut(&0x3000).unwrap()[0] = 0xD4;
        assert_eq!(
            check_view(&table, &mem, &pages, SLOT, None),
            Err(ViewScanError::Stray {
                gpa: 0x20_0FFE,
                slot: SLOT
            })
        );
        // Non-executable pages and gaps separate: no finding.
        let (table, mem, mut pages) = view();
        pages.0.get_mut(&0x3000).unwrap()[4094..].copy_from_slice(&[0x0F, 0x01]);
        pages.0.get_mut(&0x5000).unwrap()[0] = 0xD4;
        assert_eq!(check_view(&table, &mem, &pages, SLOT, None), Ok(()));
    }

    #[test]
    fn exempt_ranges_missing_slots_and_unreadable_pages() {
        let (table, mem, mut pages) = view();
        pages.0.get_mut(&0x9000).unwrap()[8..11].copy_from_slice(&crate::scan::VMFUNC);
        assert_eq!(
            check_view(&table, &mem, &pages, SLOT, None),
            Err(ViewScanError::Stray {
                gpa: 0x100_0008,
                slot: SLOT
            })
        );
        let fixture = Some(0x100_0000..0x100_1000);
        assert_eq!(check_view(&table, &mem, &pages, SLOT, fixture), Ok(()));
        pages.0.get_mut(&0x7000).unwrap()[0x30] = 0xCC;
        assert_eq!(
            check_view(&table, &mem, &pages, SLOT, Some(0x100_0000..0x100_1000)),
            Err(ViewScanError::MissingSlot { slot: SLOT })
        );
        pages.0.remove(&0x9000);
        assert_eq!(
            check_view(&table, &mem, &pages, SLOT, None),
            Err(ViewScanError::Unreadable {
                gpa: 0x100_0000,
                hpa: 0x9000
            })
        );
    }
}
