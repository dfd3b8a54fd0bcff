//! Provisioning on the fake machine with real images: what each view maps, what its
//! gate pages say, and that one image's problem rejects that image alone.

mod common;

use common::{MEMORY, PONG, hello, manifest, pong, vmfunc_bytes};
use tessera_abi::gate::{self, info};
use tessera_core::outcome::Outcome;
use tessera_core::paging::Perms;
use tessera_engine::fake;
use tessera_engine::ids::ViewId;
use tessera_engine::port::Memory;
use tessera_engine::world::Status;

#[test]
fn a_view_maps_its_image_stack_and_gate_and_nothing_is_rejected() {
    let (world, lines) = fake::world(&[("hello", hello())], MEMORY).expect("provisioned");
    assert_eq!(world.views.len(), 1);
    let view = world.view(ViewId(0));
    assert_eq!(view.compartment.status, Status::Ready);
    let image = view.image.as_ref().expect("loaded");
    let base = view.region.base;
    assert_eq!(image.entry, base + 0x2c50, "readelf: entry 0x2c50");
    // The code segment (R E at 0x2b80) is executable and not writable; data is not
    // executable; the stack is read-write.
    let code = view
        .table
        .translate(&world.mem, base + 0x2b80)
        .expect("code");
    assert_eq!(code.perms, Perms::RX);
    assert_eq!(code.hpa, image.frames.start() + 0x2b80);
    let data = view
        .table
        .translate(&world.mem, base + 0x6f80)
        .expect("data");
    assert_eq!(data.perms, Perms::RW);
    let stack = view
        .table
        .translate(&world.mem, view.region.stack_top - 8)
        .expect("stack");
    assert_eq!(stack.perms, Perms::RW);
    // The gate: execute-only code and slots, read-only info, read-write state.
    let slots = view
        .table
        .translate(&world.mem, gate::SLOTS)
        .expect("slots");
    assert_eq!(slots.perms, Perms::X);
    let info_page = view.table.translate(&world.mem, gate::INFO).expect("info");
    assert_eq!(info_page.perms, Perms::R);
    assert_eq!(info_page.hpa, view.roots[0].info.start());
    let state_page = view
        .table
        .translate(&world.mem, gate::STATE)
        .expect("state");
    assert_eq!(state_page.perms, Perms::RW);
    assert_eq!(world.info_word(ViewId(0), info::MAGIC_OFFSET), info::MAGIC);
    assert_eq!(world.info_word(ViewId(0), info::VIEW), 0);
    assert_eq!(world.info_word(ViewId(0), info::FAILED), 0);
    assert_eq!(world.info_word(ViewId(0), info::SLOT_ADDR), gate::SLOTS);
    assert_eq!(world.list(0)[0], view.pointer(0));
    assert_eq!(world.at_slot(0, 0), Some(ViewId(0)));
    assert_eq!(world.at_slot(0, 1), None);
    assert!(lines.records("REJECT").is_empty(), "{:?}", lines.all());
    // Where it sits, for a debugger: base, absolute entry, and the span (the image's
    // span as core's validator computed it, page-rounded).
    let span = view.image.as_ref().expect("loaded").plan.span;
    assert_eq!(span % 0x1000, 0);
    assert_eq!(
        lines.records("LOAD"),
        [format!(
            "@@LOAD compartment=hello base={base:#x} entry={:#x} span={span:#x}",
            base + 0x2c50
        )]
    );
}

#[test]
fn exports_are_in_the_info_page_at_load_without_any_hypercall() {
    let text = "tessera-manifest 1\ncompartment hello calls=pong\ncompartment pong exports=pong\n";
    let modules = [
        ("manifest", manifest(text)),
        ("hello", hello()),
        ("pong", pong()),
    ];
    let (world, lines) = fake::world(&modules, MEMORY).expect("provisioned");
    assert!(lines.records("REJECT").is_empty(), "{:?}", lines.all());
    let base = world.view(ViewId(1)).region.base;
    assert_eq!(world.info_word(ViewId(1), info::EXPORT_COUNT), 1);
    assert_eq!(world.info_word(ViewId(1), info::EXPORTS), base + PONG);
    // What the gate reads for a call of export 0 (docs/gates.md): the function's code.
    let code = world
        .view(ViewId(1))
        .table
        .translate(&world.mem, base + PONG);
    assert!(code.expect("mapped").perms.execute);
}

#[test]
fn an_image_missing_a_declared_export_is_rejected_alone() {
    // hello defines no export; pong's table has `pong` but not `reset`.
    let text = "tessera-manifest 1\ncompartment hello exports=greet\n\
                compartment pong exports=pong,reset\ncompartment ok exports=pong\n";
    let modules = [
        ("manifest", manifest(text)),
        ("hello", hello()),
        ("pong", pong()),
        ("ok", pong()),
    ];
    let (world, lines) = fake::world(&modules, MEMORY).expect("provisioned");
    for (view, export) in [(0, "greet"), (1, "reset")] {
        let v = world.view(ViewId(view));
        assert_eq!(v.compartment.status, Status::Rejected);
        assert_eq!(
            v.compartment.outcome,
            Some(Outcome::Rejected("missing-export"))
        );
        assert!(v.image.is_none());
        assert_eq!(world.info_word(ViewId(view), info::FAILED), 1);
        let name = v.name();
        let want = format!(
            "@@REJECT module={name} problem=missing-export compartment={name} export={export} message="
        );
        let rejects = lines.records("REJECT");
        assert!(rejects.iter().any(|l| l.starts_with(&want)), "{rejects:?}");
    }
    let ok = world.view(ViewId(2));
    assert_eq!(ok.compartment.status, Status::Ready);
    assert_eq!(
        world.info_word(ViewId(2), info::EXPORTS),
        ok.region.base + PONG
    );
    assert_eq!(lines.records("REJECT").len(), 2);
}

#[test]
fn an_image_with_vmfunc_bytes_is_rejected_alone() {
    let modules = [("good", hello()), ("bad", vmfunc_bytes())];
    let (world, lines) = fake::world(&modules, MEMORY).expect("provisioned");
    let good = world.view(ViewId(0));
    let bad = world.view(ViewId(1));
    assert_eq!(good.compartment.status, Status::Ready);
    assert_eq!(bad.compartment.status, Status::Rejected);
    assert_eq!(
        bad.compartment.outcome,
        Some(Outcome::Rejected("vmfunc-bytes"))
    );
    assert!(bad.image.is_none());
    assert_eq!(
        world.info_word(ViewId(1), info::FAILED),
        1,
        "its gate refuses calls"
    );
    let rejects = lines.records("REJECT");
    assert_eq!(rejects.len(), 1, "{rejects:?}");
    assert!(rejects[0].starts_with("@@REJECT module=bad problem=vmfunc-bytes"));
    // Only what was loaded is announced.
    let loads = lines.records("LOAD");
    assert_eq!(loads.len(), 1, "{loads:?}");
    assert!(loads[0].starts_with("@@LOAD compartment=good base="));
}

#[test]
fn an_image_that_does_not_fit_is_rejected_alone_and_gives_its_frames_back() {
    let modules = [("a", hello()), ("b", hello())];
    let (roomy, _) = fake::world(&modules, MEMORY).expect("provisioned");
    let used = MEMORY - roomy.mem.free_bytes();
    let b = roomy.view(ViewId(1)).image.as_ref().expect("loaded");
    // b's heap is the last allocation: one frame short, b's heap cannot be had.
    let stack = b.stack.len();
    let (world, lines) = fake::world(&modules, used - 0x1000).expect("provisioned");
    assert_eq!(world.view(ViewId(0)).compartment.status, Status::Ready);
    assert_eq!(
        world.view(ViewId(1)).compartment.outcome,
        Some(Outcome::Rejected("out-of-memory"))
    );
    let rejects = lines.records("REJECT");
    assert!(
        rejects[0].starts_with("@@REJECT module=b problem=out-of-memory"),
        "{rejects:?}"
    );
    // b got as far as the loader and was still refused: it is not announced as loaded.
    let loads = lines.records("LOAD");
    assert_eq!(loads.len(), 1, "{loads:?}");
    assert!(loads[0].starts_with("@@LOAD compartment=a "));
    // Its image and stack frames came back: everything but them is still in use.
    let span = roomy.view(ViewId(1)).image.as_ref().map(|i| i.frames.len());
    assert!(world.mem.free_bytes() >= span.unwrap_or(0) + stack - 0x1000);
}

#[test]
fn grants_are_mapped_with_their_access_in_the_views_granted_them() {
    let text = "tessera-manifest 1\ncompartment a calls=b\ncompartment b exports=pong\n\
                compartment c\ngrant buf size=8192 a=rw b=r\n";
    let modules = [
        ("manifest", manifest(text)),
        ("a", hello()),
        ("b", pong()),
        ("c", hello()),
    ];
    let (world, _) = fake::world(&modules, MEMORY).expect("provisioned");
    let grant = &world.grants[0];
    let perms = |v: u16| {
        world
            .view(ViewId(v))
            .table
            .translate(&world.mem, grant.gpa + 0x1000)
            .map(|t| (t.perms, t.hpa))
    };
    assert_eq!(perms(0), Some((Perms::RW, grant.frames.start() + 0x1000)));
    assert_eq!(perms(1), Some((Perms::R, grant.frames.start() + 0x1000)));
    assert_eq!(perms(2), None);
    // b's info page lets a (view 0) call it, and nobody else.
    assert_eq!(world.info_word(ViewId(1), info::CALLERS), 0b1);
    assert_eq!(world.info_word(ViewId(0), info::CALLERS), 0);
    assert_eq!(world.info_word(ViewId(1), info::EXPORT_COUNT), 1);
}

#[test]
fn errors_name_the_module_or_compartment_at_fault() {
    let text = "tessera-manifest 1\ncompartment a\ncompartment ghost\n";
    let modules = [("manifest", manifest(text)), ("a", hello())];
    let error = fake::world(&modules, MEMORY).expect_err("ghost has no module");
    assert!(error.contains("'ghost'"), "{error}");
    let text = "tessera-manifest 1\ncompartment a\n";
    let modules = [
        ("manifest", manifest(text)),
        ("a", hello()),
        ("stray", hello()),
    ];
    let error = fake::world(&modules, MEMORY).expect_err("stray is not declared");
    assert!(error.contains("'stray'"), "{error}");
    let error = fake::world(&[("a expect=bogus", hello())], MEMORY).expect_err("bad expect");
    assert!(error.contains("module 'a'"), "{error}");
}

#[test]
fn every_view_exists_in_the_list_in_manifest_order() {
    let modules = [("x", hello()), ("y", hello()), ("z", hello())];
    let (world, _) = fake::world(&modules, MEMORY).expect("provisioned");
    for (i, view) in world.views.iter().enumerate() {
        assert_eq!(view.id, ViewId(i as u16));
        assert_eq!(world.list(0)[i], view.pointer(0));
        assert_eq!(world.at_slot(0, i as u16), Some(view.id));
        assert_eq!(world.info_word(view.id, info::VIEWS), 3);
    }
    let pointers = world.pointers(0);
    assert_eq!(pointers.len(), 3);
    assert!(pointers.windows(2).all(|w| w[0] != w[1]));
}

/// `heap=`: the planner's heap is mapped read-write in its own view only, between unmapped
/// guard pages, and the info page says where it is and how big.
#[test]
fn the_heap_is_mapped_in_its_own_view_only_and_the_info_page_says_where() {
    let text = "tessera-manifest 1\ncompartment a heap=8192\ncompartment b heap=1048576\n";
    let modules = [("manifest", manifest(text)), ("a", hello()), ("b", hello())];
    let (world, _) = fake::world(&modules, MEMORY).expect("provisioned");
    for (v, size) in [(0u16, 8192u64), (1, 1 << 20)] {
        let view = world.view(ViewId(v));
        let region = view.region;
        let (bottom, top) = (region.heap_bottom, region.heap_top);
        assert_eq!(top - bottom, size);
        assert_eq!(world.info_word(ViewId(v), info::HEAP_BASE), bottom);
        assert_eq!(world.info_word(ViewId(v), info::HEAP_SIZE), size);
        let heap = view.image.as_ref().expect("loaded").heap.start();
        let at = |gpa| {
            view.table
                .translate(&world.mem, gpa)
                .map(|t| (t.perms, t.hpa))
        };
        assert_eq!(at(bottom), Some((Perms::RW, heap)));
        assert_eq!(at(top - 8), Some((Perms::RW, heap + size - 8)));
        assert_eq!(at(top), None, "guard page above the heap");
        assert_eq!(at(bottom - 0x1000), None, "guard page below the heap");
        let other = world.view(ViewId(1 - v));
        assert!(other.table.translate(&world.mem, bottom).is_none());
        assert!(other.table.translate(&world.mem, top - 8).is_none());
    }
    // The default, for a compartment without `heap=`.
    let (world, _) = fake::world(&[("c", hello())], MEMORY).expect("provisioned");
    assert_eq!(world.info_word(ViewId(0), info::HEAP_SIZE), 64 << 10);
}
