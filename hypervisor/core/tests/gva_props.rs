//! Property tests of the guest-virtual walk against the real guest page tables: below
//! 4 GiB every address maps to itself except the tables' own pages, which have no
//! guest-virtual address; nothing else maps; ranges split into pages that cover them.

use proptest::prelude::*;
use tessera_core::guest::{IDENTITY_LIMIT, PAGE_TABLE_PAGES, PAGE_TABLES_GPA, page_tables};
use tessera_core::gva::{WalkFault, pages, translate};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn identity_below_4_gib_except_the_tables(gva in prop_oneof![
        0..IDENTITY_LIMIT,
        PAGE_TABLES_GPA - 0x2000..PAGE_TABLES_GPA + 0x9000,
        any::<u64>(),
    ]) {
        let tables = page_tables();
        let read = |gpa: u64| {
            let (base, t) = tables.iter().find(|(b, _)| (*b..*b + 4096).contains(&gpa))?;
            Some(t[((gpa - base) / 8) as usize])
        };
        let hidden = PAGE_TABLES_GPA..PAGE_TABLES_GPA + PAGE_TABLE_PAGES * 0x1000;
        match translate(read, PAGE_TABLES_GPA, gva) {
            Ok(m) => {
                prop_assert!(gva < IDENTITY_LIMIT && !hidden.contains(&gva));
                prop_assert_eq!(m.gpa, gva);
                prop_assert!(m.writable && m.executable);
            }
            Err(WalkFault::NonCanonical) => {
                let top = gva >> 47;
                prop_assert!(top != 0 && top != 0x1_FFFF);
            }
            Err(_) => prop_assert!(gva >= IDENTITY_LIMIT || hidden.contains(&gva)),
        }
    }

    #[test]
    fn pages_cover_a_range_exactly(gva in any::<u64>(), len in 0usize..20_000) {
        let Some(pieces) = pages(gva, len) else {
            prop_assert!(gva.checked_add(len as u64).is_none());
            return Ok(());
        };
        let mut next = 0usize;
        for (at, offset, piece) in pieces {
            prop_assert_eq!(offset, next);
            prop_assert_eq!(at, gva + offset as u64);
            prop_assert!(piece > 0 && (at & 0xFFF) + piece as u64 <= 0x1000);
            next += piece;
        }
        prop_assert_eq!(next, len);
    }
}
