//! Property tests of the second-level page-table builder (EPT and NPT) and of the EPTP
//! validator.

mod eptp;
mod model;

use std::collections::BTreeMap;

use proptest::prelude::*;
use tessera_core::paging::{
    EntryFormat, Ept, EptpError, EptpRules, MemoryType, Npt, PageSize, PageTable, PagingError,
    Perms, PermsError, SimTables, validate_eptp,
};

const MAXPHYADDR: u8 = 40;
/// Table frames live above every HPA the tests map (2^39..2^40).
const TABLE_BASE: u64 = 1 << 39;
const K4: u64 = 0x1000;
const M2: u64 = 0x20_0000;
/// GPA window of the model-based tests: 8 MiB straddling the 1 GiB boundary, so walks
/// use two page-directory tables.
const WINDOW: u64 = (1 << 30) - 4 * M2;
const WINDOW_PAGES: u64 = 2048;

fn new_table<F: EntryFormat>(format: F) -> (PageTable<F>, SimTables) {
    let mut mem = SimTables::new(TABLE_BASE);
    let table = PageTable::new(format, MAXPHYADDR, &mut mem).expect("root allocates");
    (table, mem)
}

/// Rights a format can express: NPT needs read; EPT refuses write-without-read and, here,
/// allows execute-only (the format is built with execute-only support).
fn perms_for(npt: bool) -> impl Strategy<Value = Perms> {
    (any::<bool>(), any::<bool>(), any::<bool>())
        .prop_map(|(r, w, x)| Perms::new(r, w, x))
        .prop_filter("expressible", move |p| {
            if npt {
                p.read
            } else {
                p.read || (!p.write && p.execute)
            }
        })
}

fn memory_type_for(npt: bool) -> impl Strategy<Value = MemoryType> {
    let all = [
        MemoryType::WriteBack,
        MemoryType::Uncacheable,
        MemoryType::WriteThrough,
        MemoryType::WriteCombining,
        MemoryType::WriteProtected,
    ];
    let count: usize = if npt { 3 } else { 5 };
    (0..count).prop_map(move |i| all[i])
}

/// What one 2 MiB slot of guest-physical space holds in the round-trip test.
#[derive(Clone, Debug)]
enum SlotContent {
    Big { frame: u64, perms: Perms },
    Small(BTreeMap<u64, (u64, Perms)>),
}

fn slot_content(npt: bool) -> impl Strategy<Value = SlotContent> {
    prop_oneof![
        (0..1u64 << 18, perms_for(npt))
            .prop_map(|(frame, perms)| SlotContent::Big { frame, perms }),
        prop::collection::btree_map(0..512u64, (0..1u64 << 27, perms_for(npt)), 1..8)
            .prop_map(SlotContent::Small),
    ]
}

/// A range of window pages `(first, count)`, often 2 MiB-aligned and 2 MiB-sized so
/// that large pages, splits and partial overlaps of large pages all happen.
fn page_range() -> impl Strategy<Value = (u64, u64)> + Clone {
    let start = prop_oneof![(0..4u64).prop_map(|m| m * 512), 0..WINDOW_PAGES];
    start.prop_flat_map(|page| {
        let rest = WINDOW_PAGES - page;
        let count = prop_oneof![
            (1..=rest.div_ceil(512)).prop_map(move |m| (m * 512).min(rest)),
            1..=rest,
        ];
        (Just(page), count)
    })
}

fn round_trip<F: EntryFormat>(format: F, slots: &BTreeMap<u64, SlotContent>, offset: u64) {
    let (mut table, mut mem) = new_table(format);
    for (&slot, content) in slots {
        let base = slot * M2;
        match content {
            SlotContent::Big { frame, perms } => {
                let mapped = table.map(&mut mem, base, frame * M2, PageSize::Size2M, *perms);
                assert_eq!(mapped, Ok(()));
            }
            SlotContent::Small(pages) => {
                for (&page, &(frame, perms)) in pages {
                    let gpa = base + page * K4;
                    let mapped = table.map(&mut mem, gpa, frame * K4, PageSize::Size4K, perms);
                    assert_eq!(mapped, Ok(()));
                }
            }
        }
    }
    for (&slot, content) in slots {
        let base = slot * M2;
        match content {
            SlotContent::Big { frame, perms } => {
                let t = table
                    .translate(&mem, base + offset)
                    .expect("2 MiB page mapped");
                assert_eq!((t.hpa, t.perms), (frame * M2 + offset, *perms));
                assert_eq!(
                    (t.size, t.memory_type),
                    (PageSize::Size2M, MemoryType::WriteBack)
                );
            }
            SlotContent::Small(pages) => {
                for page in 0..512 {
                    let gpa = base + page * K4 + offset % K4;
                    let got = table.translate(&mem, gpa).map(|t| (t.hpa, t.perms, t.size));
                    let want = pages
                        .get(&page)
                        .map(|&(frame, perms)| (frame * K4 + offset % K4, perms, PageSize::Size4K));
                    assert_eq!(got, want, "gpa {gpa:#x}");
                }
            }
        }
    }
}

fn split_keeps_everything<F: EntryFormat>(
    format: F,
    slot: u64,
    frame: u64,
    perms: Perms,
    memory_type: MemoryType,
    at: u64,
) {
    let (mut table, mut mem) = new_table(format);
    let (gpa, hpa) = (slot * M2, frame * M2);
    let s2 = PageSize::Size2M;
    assert_eq!(
        table.map_typed(&mut mem, gpa, hpa, s2, perms, memory_type),
        Ok(())
    );
    let neighbour = gpa + M2;
    assert_eq!(table.map(&mut mem, neighbour, hpa, s2, Perms::R), Ok(()));
    assert_eq!(table.split(&mut mem, gpa + at), Ok(()));
    for page in 0..512 {
        let t = table
            .translate(&mem, gpa + page * K4)
            .expect("still mapped");
        assert_eq!(t.hpa, hpa + page * K4);
        assert_eq!(
            (t.perms, t.memory_type, t.size),
            (perms, memory_type, PageSize::Size4K)
        );
    }
    let t = table
        .translate(&mem, neighbour)
        .map(|t| (t.hpa, t.perms, t.size));
    assert_eq!(t, Some((hpa, Perms::R, s2)));
}

/// Maps `[a_start, a_start + a_len)`, then tries `[b_start, b_start + b_len)` (page
/// indices in the window): refused exactly when they intersect, naming the first
/// mapped GPA of B, and the refusal changes nothing.
fn overlap_refused<F: EntryFormat>(format: F, a: (u64, u64), b: (u64, u64), shift: u64) {
    let (mut table, mut mem) = new_table(format);
    let gpa = |page: u64| WINDOW + page * K4;
    let hpa = |page: u64| gpa(page) + shift * K4;
    let perms = Perms::RW;
    assert_eq!(
        table.map_range(&mut mem, gpa(a.0), hpa(a.0), a.1 * K4, perms),
        Ok(())
    );
    let got = table.map_range(&mut mem, gpa(b.0), hpa(b.0), b.1 * K4, Perms::RX);
    let intersect = a.0 < b.0 + b.1 && b.0 < a.0 + a.1;
    if intersect {
        let first = gpa(a.0.max(b.0));
        assert_eq!(got, Err(PagingError::AlreadyMapped { gpa: first }));
        for page in b.0..b.0 + b.1 {
            let t = table.translate(&mem, gpa(page)).map(|t| t.perms);
            let inside_a = (a.0..a.0 + a.1).contains(&page);
            assert_eq!(t, inside_a.then_some(perms), "page {page}");
        }
    } else {
        assert_eq!(got, Ok(()));
    }
}

/// Maps disjoint ranges, unmaps one range: it reads as unmapped, the rest is intact.
fn unmap_leaves_others<F: EntryFormat>(format: F, cuts: &[u64], hole: (u64, u64)) {
    let (mut table, mut mem) = new_table(format);
    let gpa = |page: u64| WINDOW + page * K4;
    let mut expected = BTreeMap::new();
    for (i, pair) in cuts.windows(2).enumerate() {
        let (start, end) = (pair[0], pair[1]);
        if i % 3 == 2 || start == end {
            continue; // leave some gaps
        }
        let len = (end - start) * K4;
        assert_eq!(
            table.map_range(&mut mem, gpa(start), gpa(start), len, Perms::RX),
            Ok(())
        );
        expected.extend((start..end).map(|p| (p, gpa(p))));
    }
    assert_eq!(table.unmap(&mut mem, gpa(hole.0), hole.1 * K4), Ok(()));
    for page in 0..WINDOW_PAGES {
        let got = table.translate(&mem, gpa(page)).map(|t| t.hpa);
        let unmapped = (hole.0..hole.0 + hole.1).contains(&page);
        let want = if unmapped {
            None
        } else {
            expected.get(&page).copied()
        };
        assert_eq!(got, want, "page {page}");
    }
}

proptest! {
    #[test]
    fn map_translate_round_trip_ept(
        slots in prop::collection::btree_map(0..1u64 << 18, slot_content(false), 1..16),
        offset in 0..M2,
    ) {
        round_trip(Ept::new(true), &slots, offset);
    }

    #[test]
    fn map_translate_round_trip_npt(
        slots in prop::collection::btree_map(0..1u64 << 18, slot_content(true), 1..16),
        offset in 0..M2,
    ) {
        round_trip(Npt, &slots, offset);
    }

    #[test]
    fn split_keeps_perms_types_and_addresses(
        slot in 0..1u64 << 17,
        frame in 0..1u64 << 18,
        (ept_perms, npt_perms) in (perms_for(false), perms_for(true)),
        (ept_type, npt_type) in (memory_type_for(false), memory_type_for(true)),
        at in 0..M2,
    ) {
        split_keeps_everything(Ept::new(true), slot, frame, ept_perms, ept_type, at);
        split_keeps_everything(Npt, slot, frame, npt_perms, npt_type, at);
    }

    #[test]
    fn write_without_read_is_refused(
        slot in 0..1u64 << 18,
        frame in 0..1u64 << 18,
        execute in any::<bool>(),
        big in any::<bool>(),
    ) {
        let size = if big { PageSize::Size2M } else { PageSize::Size4K };
        let perms = Perms::new(false, true, execute);
        let expected = Err(PagingError::Perms {
            gpa: slot * M2,
            error: PermsError::WriteWithoutRead,
        });
        let (mut ept, mut ept_mem) = new_table(Ept::new(true));
        prop_assert_eq!(ept.map(&mut ept_mem, slot * M2, frame * M2, size, perms), expected);
        prop_assert_eq!(ept.translate(&ept_mem, slot * M2), None);
        let (mut npt, mut npt_mem) = new_table(Npt);
        let got = npt.map_range(&mut npt_mem, slot * M2, frame * M2, size.bytes(), perms);
        prop_assert_eq!(got, expected);
        prop_assert_eq!(npt.translate(&npt_mem, slot * M2), None);
    }

    #[test]
    fn overlapping_maps_are_refused(
        a in page_range(),
        b in page_range(),
        shift in prop_oneof![Just(0u64), Just(512), 1..1024u64],
    ) {
        overlap_refused(Ept::new(false), a, b, shift);
        overlap_refused(Npt, a, b, shift);
    }

    #[test]
    fn unmap_then_translate_is_none_and_others_intact(
        mut cuts in prop::collection::vec(0..=WINDOW_PAGES, 2..12),
        hole in page_range(),
    ) {
        cuts.sort_unstable();
        unmap_leaves_others(Ept::new(false), &cuts, hole);
        unmap_leaves_others(Npt, &cuts, hole);
    }

}
