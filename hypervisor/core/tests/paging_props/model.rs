//! The model-based test: random sequences of map, unmap and split on a page table and
//! on a page-granular model agree after every step.

use super::*;

/// One step of the model-based test.
#[derive(Clone, Debug)]
enum Op {
    Map {
        page: u64,
        pages: u64,
        shift: u64,
        perms: Perms,
    },
    Unmap {
        page: u64,
        pages: u64,
    },
    Protect {
        page: u64,
        pages: u64,
        perms: Perms,
    },
    Split {
        page: u64,
    },
}

fn op(npt: bool) -> impl Strategy<Value = Op> {
    let range = page_range();
    // Host shifts: 2 MiB multiples (large pages possible) or odd page counts (never).
    let shift = prop_oneof![(0..4u64).prop_map(|m| m * 512), 1..2048u64];
    prop_oneof![
        (range.clone(), shift, perms_for(npt)).prop_map(|((page, pages), shift, perms)| {
            Op::Map {
                page,
                pages,
                shift,
                perms,
            }
        }),
        range
            .clone()
            .prop_map(|(page, pages)| Op::Unmap { page, pages }),
        (range, perms_for(npt)).prop_map(|((page, pages), perms)| Op::Protect {
            page,
            pages,
            perms
        }),
        (0..WINDOW_PAGES).prop_map(|page| Op::Split { page }),
    ]
}

/// Applies `ops` to a page table and to a page-granular model; after every step both
/// agree on every page of the window, and the results are the ones the model predicts.
fn model_agrees<F: EntryFormat>(format: F, ops: &[Op]) {
    let (mut table, mut mem) = new_table(format);
    let mut model: BTreeMap<u64, (u64, Perms)> = BTreeMap::new();
    let gpa = |page: u64| WINDOW + page * K4;
    for op in ops {
        match *op {
            Op::Map {
                page,
                pages,
                shift,
                perms,
            } => {
                let hpa = gpa(page) + shift * K4;
                let got = table.map_range(&mut mem, gpa(page), hpa, pages * K4, perms);
                match model.range(page..page + pages).next() {
                    Some((&busy, _)) => {
                        assert_eq!(got, Err(PagingError::AlreadyMapped { gpa: gpa(busy) }));
                    }
                    None => {
                        assert_eq!(got, Ok(()));
                        for p in page..page + pages {
                            model.insert(p, (gpa(p) + shift * K4, perms));
                        }
                    }
                }
            }
            Op::Unmap { page, pages } => {
                assert_eq!(table.unmap(&mut mem, gpa(page), pages * K4), Ok(()));
                model.retain(|&p, _| !(page..page + pages).contains(&p));
            }
            Op::Protect { page, pages, perms } => {
                let got = table.protect(&mut mem, gpa(page), pages * K4, perms);
                match (page..page + pages).find(|p| !model.contains_key(p)) {
                    Some(hole) => assert_eq!(got, Err(PagingError::NotMapped { gpa: gpa(hole) })),
                    None => {
                        assert_eq!(got, Ok(()));
                        for p in page..page + pages {
                            model.entry(p).and_modify(|e| e.1 = perms);
                        }
                    }
                }
            }
            Op::Split { page } => {
                let got = table.split(&mut mem, gpa(page));
                if model.contains_key(&page) {
                    assert_eq!(got, Ok(()));
                } else {
                    assert_eq!(got, Err(PagingError::NotMapped { gpa: gpa(page) }));
                }
            }
        }
        for page in 0..WINDOW_PAGES {
            let got = table.translate(&mem, gpa(page)).map(|t| (t.hpa, t.perms));
            assert_eq!(got, model.get(&page).copied(), "page {page} after {op:?}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn ept_agrees_with_a_page_model(ops in prop::collection::vec(op(false), 1..24)) {
        model_agrees(Ept::new(true), &ops);
    }

    #[test]
    fn npt_agrees_with_a_page_model(ops in prop::collection::vec(op(true), 1..24)) {
        model_agrees(Npt, &ops);
    }
}
