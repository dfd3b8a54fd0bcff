//! Property tests of the guest-physical planner: whenever it answers, every mapped range
//! (fixed areas, grants, each image, heap and stack) lies inside the identity map, the ranges
//! are ordered and at least a guard page apart, no guard page is inside any of them, and
//! the regions are contiguous and 2 MiB-aligned; whenever it refuses, an independent
//! computation agrees on which compartment or grant does not fit.

use proptest::prelude::*;
use tessera_core::guest::IDENTITY_LIMIT;
use tessera_core::layout::{
    FIXED, GRANTS_BASE, GRANTS_LIMIT, GUARD, Layout, LayoutError, REGION_ALIGN, REGIONS_BASE, plan,
};
use tessera_core::manifest::{CompartmentDecl, GrantDecl, MAX_HEAP, MAX_STACK, Manifest};

const PAGE: u64 = 4096;

fn span() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => (1u64..=64).prop_map(|p| p * PAGE),
        2 => (1u64..=4096).prop_map(|p| p * PAGE),
        1 => (1u64..=(1 << 20)).prop_map(|p| p * PAGE),
    ]
}

fn input() -> impl Strategy<Value = (Manifest, Vec<u64>)> {
    let compartments = prop::collection::vec(
        (1u64..=MAX_STACK / PAGE, span(), 1u64..=MAX_HEAP / PAGE),
        1..48,
    );
    let grants = prop::collection::vec(1u64..=256, 0..16);
    (compartments, grants).prop_map(|(cs, gs)| {
        let manifest = Manifest {
            compartments: cs
                .iter()
                .enumerate()
                .map(|(i, (stack, _, heap))| CompartmentDecl {
                    stack: stack * PAGE,
                    heap: heap * PAGE,
                    ..CompartmentDecl::new(format!("c{i}"))
                })
                .collect(),
            grants: gs
                .iter()
                .enumerate()
                .map(|(i, pages)| GrantDecl {
                    name: format!("g{i}"),
                    size: pages * PAGE,
                    access: vec![("c0".into(), tessera_core::manifest::Access::Read)],
                })
                .collect(),
            data: vec![],
        };
        (manifest, cs.iter().map(|(_, s, _)| *s).collect())
    })
}

/// `(start, end)` of everything some view maps.
fn mapped(layout: &Layout) -> Vec<(u64, u64)> {
    let mut ranges: Vec<(u64, u64)> = FIXED.iter().map(|&(s, len)| (s, s + len)).collect();
    ranges.extend(layout.grants.iter().map(|g| (g.gpa, g.gpa + g.size)));
    ranges.extend(layout.channels.iter().map(|c| (c.gpa, c.gpa + c.size)));
    for r in &layout.regions {
        ranges.push((r.base, r.base + r.image_span));
        ranges.push((r.heap_bottom, r.heap_top));
        ranges.push((r.stack_bottom, r.stack_top));
    }
    ranges.sort_unstable();
    ranges
}

fn overlaps(a: (u64, u64), b: (u64, u64)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// The first grant / compartment that cannot be placed, computed independently.
fn expected_error(m: &Manifest, spans: &[u64]) -> Option<String> {
    let mut next = u128::from(GRANTS_BASE);
    for g in &m.grants {
        next += u128::from(g.size) + u128::from(GUARD);
        if next > u128::from(GRANTS_LIMIT) {
            return Some(g.name.clone());
        }
    }
    let mut end = u128::from(REGIONS_BASE);
    for (c, &span) in m.compartments.iter().zip(spans) {
        let need =
            u128::from(span) + u128::from(c.heap) + u128::from(c.stack) + 3 * u128::from(GUARD);
        end += need.div_ceil(u128::from(REGION_ALIGN)) * u128::from(REGION_ALIGN);
        if end > u128::from(IDENTITY_LIMIT) {
            return Some(c.name.clone());
        }
    }
    None
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn plans_are_disjoint_guarded_and_inside_the_identity_map((m, spans) in input()) {
        let expected = expected_error(&m, &spans);
        let layout = match plan(&m, &spans) {
            Ok(layout) => layout,
            Err(e) => {
                let named = match &e {
                    LayoutError::GrantsFull { grant, .. } => grant.clone(),
                    LayoutError::OutOfSpace { compartment, .. } => compartment.clone(),
                    other => return Err(TestCaseError::fail(format!("unexpected {other}"))),
                };
                prop_assert_eq!(Some(named.clone()), expected);
                let quoted = format!("'{named}'");
                prop_assert!(e.to_string().contains(&quoted), "{}", e);
                return Ok(());
            }
        };
        prop_assert_eq!(expected, None);
        prop_assert_eq!(layout.regions.len(), m.compartments.len());
        prop_assert_eq!(layout.grants.len(), m.grants.len());

        // Every mapped range inside the identity map, a guard page or more apart.
        let ranges = mapped(&layout);
        for pair in ranges.windows(2) {
            prop_assert!(pair[0].1 + GUARD <= pair[1].0, "{:x?} too close to {:x?}", pair[0], pair[1]);
        }
        prop_assert!(ranges.iter().all(|&(s, e)| 0 < s && s < e && e <= IDENTITY_LIMIT));

        for (g, decl) in layout.grants.iter().zip(&m.grants) {
            prop_assert_eq!(g.size, decl.size);
            prop_assert!(g.gpa % PAGE == 0 && g.gpa >= GRANTS_BASE);
            prop_assert!(g.gpa + g.size + GUARD <= GRANTS_LIMIT);
        }
        let mut base = REGIONS_BASE;
        for ((r, decl), &span) in layout.regions.iter().zip(&m.compartments).zip(&spans) {
            // Ordered, contiguous, 2 MiB granular.
            prop_assert_eq!(r.base, base);
            prop_assert!(r.base % REGION_ALIGN == 0 && r.size % REGION_ALIGN == 0);
            prop_assert_eq!(r.end(), r.base + r.size);
            base = r.end();
            // [image][guard][..][heap][guard][stack][guard], heap and stack exactly as
            // declared.
            prop_assert_eq!(r.image_span, span);
            prop_assert_eq!(r.stack_top - r.stack_bottom, decl.stack);
            prop_assert_eq!(r.heap_top - r.heap_bottom, decl.heap);
            prop_assert_eq!(r.stack_top + GUARD, r.end());
            prop_assert_eq!(r.heap_top + GUARD, r.stack_bottom);
            prop_assert!(r.base + span + GUARD <= r.heap_bottom);
            // The guard pages of the heap and the stack are mapped by no one.
            let guards = [
                (r.heap_bottom - GUARD, r.heap_bottom),
                (r.heap_top, r.stack_bottom),
                (r.stack_top, r.stack_top + GUARD),
            ];
            for guard in guards {
                prop_assert!(!ranges.iter().any(|&m| overlaps(m, guard)), "guard {:x?} mapped", guard);
            }
        }
        prop_assert!(base <= IDENTITY_LIMIT);
    }

    #[test]
    fn a_span_too_large_names_its_compartment(
        (m, mut spans) in input(),
        victim in any::<prop::sample::Index>(),
        pages in (IDENTITY_LIMIT - REGIONS_BASE) / PAGE..=u64::MAX / PAGE,
    ) {
        let m = Manifest { grants: vec![], ..m };
        let victim = victim.index(spans.len());
        spans[victim] = pages * PAGE;
        let named = match plan(&m, &spans) {
            Err(LayoutError::OutOfSpace { compartment, .. }) => compartment,
            other => return Err(TestCaseError::fail(format!("{other:?}"))),
        };
        // That compartment, or one before it if those already filled the space.
        let index = m.compartments.iter().position(|c| c.name == named);
        prop_assert!(index.is_some_and(|i| i <= victim), "{} named, victim c{}", named, victim);
        prop_assert_eq!(Some(named), expected_error(&m, &spans));
    }
}
