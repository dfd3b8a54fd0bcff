//! The guest-physical planner on concrete manifests: exact addresses for a small one,
//! 511 small compartments below 4 GiB, and each error naming its compartment or grant.

use tessera_abi::gate;
use tessera_core::guest::{self, IDENTITY_LIMIT};
use tessera_core::layout::{
    ChannelPlacement, FIXED, GRANTS_BASE, GRANTS_LIMIT, GUARD, GrantPlacement, LayoutError,
    REGION_ALIGN, REGIONS_BASE, Region, plan,
};
use tessera_core::manifest::{CompartmentDecl, GrantDecl, MAX_COMPARTMENTS, Manifest};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

fn manifest(n: usize, stack: u64, grants: &[u64]) -> Manifest {
    Manifest {
        compartments: (0..n)
            .map(|i| CompartmentDecl {
                stack,
                ..CompartmentDecl::new(format!("c{i}"))
            })
            .collect(),
        grants: grants
            .iter()
            .enumerate()
            .map(|(i, &size)| GrantDecl {
                name: format!("g{i}"),
                size,
                access: vec![],
            })
            .collect(),
        data: vec![],
    }
}

#[test]
fn small_manifest_exact_addresses() {
    let m = Manifest::parse(
        "tessera-manifest 1\ncompartment vault\ncompartment client stack=8192\n\
         grant msg size=4096 client=rw vault=r\ngrant big size=8192 vault=rw\n",
    )
    .expect("valid");
    let layout = plan(&m, &[0x5000, 0x20_0000]).expect("fits");
    assert_eq!(
        layout.grants,
        vec![
            GrantPlacement {
                gpa: 0x40_0000,
                size: 0x1000
            },
            GrantPlacement {
                gpa: 0x40_2000,
                size: 0x2000
            },
        ]
    );
    assert_eq!(
        layout.regions,
        vec![
            // Image, guard, ..., 64 KiB heap (the default), guard, 64 KiB stack, guard.
            Region {
                base: 0x100_0000,
                size: 0x20_0000,
                image_span: 0x5000,
                heap_bottom: 0x11d_e000,
                heap_top: 0x11e_e000,
                stack_bottom: 0x11e_f000,
                stack_top: 0x11f_f000,
            },
            // 2 MiB image + guard + 64 KiB heap + guard + 8 KiB stack + guard: rounded
            // up to 4 MiB.
            Region {
                base: 0x120_0000,
                size: 0x40_0000,
                image_span: 0x20_0000,
                heap_bottom: 0x15e_c000,
                heap_top: 0x15f_c000,
                stack_bottom: 0x15f_d000,
                stack_top: 0x15f_f000,
            },
        ]
    );
    // The kernel's loader still takes a `guest::Region`.
    let g = guest::Region::from(layout.regions[0]);
    assert_eq!(
        (g.base, g.stack_top, g.max_image_span),
        (0x100_0000, 0x11f_f000, 0x1d_d000)
    );
}

/// A fault's `offset=`: inside the image only (not its stack, guard or another region),
/// counted from the base, so it is the ELF address of a relocatable image linked at 0.
#[test]
fn image_offsets_are_counted_from_the_base_inside_the_image_only() {
    let m = Manifest::parse("tessera-manifest 1\ncompartment a\ncompartment b\n").expect("valid");
    let layout = plan(&m, &[0x5000, 0x3000]).expect("fits");
    let a = layout.regions[0];
    assert_eq!(a.image_offset(a.base), Some(0));
    assert_eq!(a.image_offset(a.base + 0x2b9c), Some(0x2b9c));
    assert_eq!(a.image_offset(a.base + 0x4fff), Some(0x4fff));
    for outside in [a.base + 0x5000, a.base - 1, a.stack_top - 8, 0, u64::MAX] {
        assert_eq!(a.image_offset(outside), None, "{outside:#x}");
    }
    assert_eq!(a.image_offset(layout.regions[1].base), None);
}

#[test]
fn an_exact_fit_needs_no_extra_2_mib() {
    // Image, 64 KiB heap, 64 KiB stack and three guard pages fill 2 MiB exactly.
    let span = REGION_ALIGN - 128 * KIB - 3 * GUARD;
    let layout = plan(&manifest(2, 64 * KIB, &[]), &[span, 4096]).expect("fits");
    let r = layout.regions[0];
    assert_eq!(r.size, REGION_ALIGN);
    assert_eq!(r.base + span + GUARD, r.heap_bottom);
    assert_eq!(r.heap_top + GUARD, r.stack_bottom);
    assert_eq!(layout.regions[1].base, REGIONS_BASE + REGION_ALIGN);
    let layout = plan(&manifest(1, 64 * KIB, &[]), &[span + 4096]).expect("fits");
    assert_eq!(layout.regions[0].size, 2 * REGION_ALIGN);
}

#[test]
fn five_hundred_eleven_small_compartments_fit() {
    let m = manifest(MAX_COMPARTMENTS, 64 * KIB, &[MIB, 4096]);
    let layout = plan(&m, &vec![128 * KIB; MAX_COMPARTMENTS]).expect("511 fit");
    assert_eq!(layout.regions.len(), 511);
    assert!(layout.regions.iter().all(|r| r.size == REGION_ALIGN));
    let last = layout.regions.last().expect("511 regions");
    assert_eq!(last.end(), REGIONS_BASE + 511 * REGION_ALIGN);
    assert!(last.end() <= IDENTITY_LIMIT);
}

#[test]
fn too_large_an_image_names_its_compartment() {
    let m = manifest(3, 64 * KIB, &[]);
    let e = plan(&m, &[4096, IDENTITY_LIMIT - REGIONS_BASE, 4096]).expect_err("c1 too big");
    assert_eq!(
        e,
        LayoutError::OutOfSpace {
            compartment: "c1".into(),
            span: IDENTITY_LIMIT - REGIONS_BASE,
            stack: 64 * KIB,
            heap: 64 * KIB,
        }
    );
    assert!(e.to_string().starts_with("compartment 'c1': "), "{e}");
    // Each fits alone, but not all together: the one that crosses 4 GiB is named.
    let half = 2 * 1024 * MIB;
    let e = plan(&m, &[4096, half, half]).expect_err("c2 does not fit");
    assert!(matches!(e, LayoutError::OutOfSpace { ref compartment, .. } if compartment == "c2"));
    // No overflow panic at the top of u64.
    let e = plan(&m, &[4096, u64::MAX - 4095, 4096]).expect_err("overflow");
    assert!(matches!(e, LayoutError::OutOfSpace { ref compartment, .. } if compartment == "c1"));
}

#[test]
fn grants_fill_12_mib_then_name_the_one_that_does_not_fit() {
    // Each 1 MiB grant takes 1 MiB + a guard page: 11 of them fit in 12 MiB.
    let fits = manifest(1, 64 * KIB, &[MIB; 11]);
    let layout = plan(&fits, &[4096]).expect("11 grants");
    let last = layout.grants.last().expect("11 grants");
    assert!(last.gpa + last.size + GUARD <= GRANTS_LIMIT);
    let e = plan(&manifest(1, 64 * KIB, &[MIB; 12]), &[4096]).expect_err("12 do not");
    assert_eq!(
        e,
        LayoutError::GrantsFull {
            grant: "g11".into(),
            size: MIB
        }
    );
    assert!(e.to_string().starts_with("grant 'g11': "), "{e}");
}

#[test]
fn inconsistent_input_is_an_error_not_a_panic() {
    let m = manifest(2, 64 * KIB, &[]);
    assert_eq!(
        plan(&m, &[4096]),
        Err(LayoutError::SpanCount {
            compartments: 2,
            spans: 1
        })
    );
    for span in [0, 123, 4097] {
        let e = plan(&m, &[4096, span]).expect_err("bad span");
        assert_eq!(
            e,
            LayoutError::BadSpan {
                compartment: "c1".into(),
                span
            }
        );
    }
    let e = plan(&manifest(1, 0, &[]), &[4096]).expect_err("no stack");
    assert_eq!(
        e,
        LayoutError::BadStack {
            compartment: "c0".into(),
            stack: 0
        }
    );
    let e = plan(&manifest(1, 4096, &[4095]), &[4096]).expect_err("bad grant");
    assert_eq!(
        e,
        LayoutError::BadGrantSize {
            grant: "g0".into(),
            size: 4095
        }
    );
    let e = plan(&manifest(512, 4096, &[]), &[4096; 512]).expect_err("512");
    assert_eq!(e, LayoutError::TooManyCompartments { count: 512 });
}

#[test]
fn fixed_areas_are_the_guest_tables_gdt_and_gate() {
    assert_eq!(FIXED[0].0, guest::PAGE_TABLES_GPA);
    assert_eq!(FIXED[1].0, guest::GDT_GPA);
    assert_eq!(
        (FIXED[2].0, FIXED[2].0 + FIXED[2].1),
        (gate::SLOTS, gate::END)
    );
    const { assert!(gate::END + GUARD <= GRANTS_BASE) };
}

/// `heap=` sizes the heap, which sits below the stack with a guard page on each side, and
/// a heap that does not fit (or is not whole pages) names its compartment.
#[test]
fn the_heap_is_sized_by_the_manifest_between_guard_pages() {
    let m = Manifest::parse(
        "tessera-manifest 1\ncompartment small heap=8192\ncompartment big heap=67108864\n",
    )
    .expect("valid");
    let layout = plan(&m, &[0x3000, 0x3000]).expect("fits");
    let [small, big] = [layout.regions[0], layout.regions[1]];
    assert_eq!(small.heap_top - small.heap_bottom, 8192);
    assert_eq!(small.heap_top + GUARD, small.stack_bottom);
    assert_eq!(small.size, REGION_ALIGN);
    assert_eq!(big.heap_top - big.heap_bottom, 64 * MIB);
    assert!(big.base + big.image_span + GUARD <= big.heap_bottom);
    // 64 MiB of heap and the rest round up to 33 large pages.
    assert_eq!(big.size, 33 * REGION_ALIGN);
    let mut bad = manifest(2, 64 * KIB, &[]);
    bad.compartments[1].heap = 4095;
    assert_eq!(
        plan(&bad, &[4096, 4096]),
        Err(LayoutError::BadHeap {
            compartment: "c1".into(),
            heap: 4095
        })
    );
    bad.compartments[1].heap = IDENTITY_LIMIT;
    let e = plan(&bad, &[4096, 4096]).expect_err("no room");
    assert!(
        matches!(e, LayoutError::OutOfSpace { ref compartment, heap, .. }
        if compartment == "c1" && heap == IDENTITY_LIMIT)
    );
    assert!(e.to_string().contains("heap 0x100000000 bytes"), "{e}");
}

#[test]
fn data_entries_follow_the_directory_each_with_a_guard_page_and_stop_at_the_limit() {
    use tessera_core::layout::{DATA_BASE, DATA_LIMIT, place_data};
    let placed = place_data(&[32, 4096, 4097, 0]).expect("fits");
    let first = DATA_BASE + 0x2000;
    assert_eq!(
        placed,
        [first, first + 0x2000, first + 0x4000, first + 0x7000]
    );
    // The window holds 1 MiB minus the directory and the guard pages.
    let room = DATA_LIMIT - first - 0x1000;
    assert_eq!(place_data(&[room]), Ok(vec![first]));
    assert_eq!(place_data(&[room + 1]), Err(0));
    assert_eq!(place_data(&[4096, room]), Err(1));
    assert_eq!(place_data(&[u64::MAX]), Err(0));
    assert_eq!(place_data(&[]), Ok(vec![]));
}

#[test]
fn call_buffers_follow_the_grants_one_per_edge_with_guard_pages() {
    let m = Manifest::parse(
        "tessera-manifest 1\ncompartment store call_buffer=8192\ncompartment parser\n\
         compartment frontend calls=parser,store\ncompartment extra calls=store\n\
         grant msg size=4096 frontend=rw store=r\n",
    )
    .expect("valid");
    let layout = plan(&m, &[0x1000; 4]).expect("fits");
    let edge = |caller, callee, gpa, size| ChannelPlacement {
        caller,
        callee,
        gpa,
        size,
    };
    // The grant at 0x40_0000 and its guard, then frontend→parser (4 KiB, the default),
    // frontend→store and extra→store (8 KiB, the store's call_buffer=), each + guard.
    assert_eq!(
        layout.channels,
        vec![
            edge(2, 1, 0x40_2000, 0x1000),
            edge(2, 0, 0x40_4000, 0x2000),
            edge(3, 0, 0x40_7000, 0x2000),
        ]
    );
    assert_eq!(layout.channels[0].entry(), 0x40_2001, "GPA | size in pages");
    assert_eq!(gate::channels::bytes(layout.channels[1].entry()), 0x2000);
    assert_eq!(gate::channels::gpa(layout.channels[2].entry()), 0x40_7000);
}

#[test]
fn call_buffers_that_do_not_fit_name_their_edge() {
    // Eleven 1 MiB grants and their guard pages leave less than 1 MiB of the 12 MiB area.
    let mut m = manifest(2, 64 * KIB, &[MIB; 11]);
    m.compartments[0].calls = vec!["c1".into()];
    m.compartments[1].call_buffer = MIB;
    let err = plan(&m, &[0x1000; 2]).expect_err("full");
    assert_eq!(
        err,
        LayoutError::ChannelsFull {
            edge: "c0->c1".into(),
            size: MIB
        }
    );
    assert!(
        err.to_string()
            .starts_with("call buffer of c0->c1: no room"),
        "{err}"
    );
    m.compartments[1].call_buffer = 4095;
    let err = plan(&m, &[0x1000; 2]).expect_err("bad size");
    assert!(matches!(err, LayoutError::BadCallBuffer { .. }), "{err}");
}
