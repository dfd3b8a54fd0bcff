//! Call buffers on the fake machine: one per `calls` edge, RW- in exactly its caller's
//! and its callee's views at the same address, and each view's read-only channel page
//! saying where its buffers are (docs/gates.md "Call buffers").

mod common;

use common::{MEMORY, hello, manifest, pong};
use tessera_abi::gate::{self, channels};
use tessera_core::paging::Perms;
use tessera_engine::fake;
use tessera_engine::ids::ViewId;
use tessera_engine::port::Memory;

/// The u32 at `offset` of `view`'s channel page, read through the view's own mapping.
fn entry<F: tessera_core::paging::EntryFormat, M: Memory>(
    world: &tessera_engine::world::World<F, M>,
    view: u16,
    offset: u64,
) -> u32 {
    let v = world.view(ViewId(view));
    let page = v
        .table
        .translate(&world.mem, gate::CHANNELS)
        .expect("channel page mapped");
    assert_eq!(page.perms, Perms::R, "read-only to the view");
    assert_eq!(page.hpa, v.pages.channels.start());
    let word = world.mem.read_u64(page.hpa + (offset & !7));
    (word >> (8 * (offset & 4))) as u32
}

#[test]
fn each_edge_has_a_buffer_in_exactly_its_two_views() {
    // a→b, c→b (b's buffers are 8 KiB), c→a; d calls nobody and nobody calls it.
    let text = "tessera-manifest 1\ncompartment a calls=b\n\
                compartment b exports=pong call_buffer=8192\ncompartment c calls=b,a\n\
                compartment d\ngrant g size=4096 a=rw\n";
    let modules = [
        ("manifest", manifest(text)),
        ("a", hello()),
        ("b", pong()),
        ("c", hello()),
        ("d", hello()),
    ];
    let (world, lines) = fake::world(&modules, MEMORY).expect("provisioned");
    assert!(lines.records("REJECT").is_empty(), "{:?}", lines.all());
    let edges: Vec<_> = world
        .channels
        .iter()
        .map(|c| (c.caller.0, c.callee.0, c.size))
        .collect();
    assert_eq!(edges, [(0, 1, 0x2000), (2, 1, 0x2000), (2, 0, 0x1000)]);
    for c in &world.channels {
        assert!(c.gpa > world.grants[0].gpa, "after the grants");
        for v in 0..4u16 {
            let t = world
                .view(ViewId(v))
                .table
                .translate(&world.mem, c.gpa + c.size - 1);
            let party = v == c.caller.0 || v == c.callee.0;
            match t {
                Some(t) if party => {
                    assert_eq!(t.perms, Perms::RW, "RW-, never executable");
                    assert_eq!(t.hpa, c.frames[0].start() + c.size - 1);
                }
                None if !party => {}
                other => panic!("view {v}, buffer {c:?}: {other:?}"),
            }
            // The guard page after it is mapped nowhere.
            let guard = world
                .view(ViewId(v))
                .table
                .translate(&world.mem, c.gpa + c.size);
            assert!(guard.is_none(), "view {v}: guard page of {c:?} mapped");
        }
        let e = channels::entry(c.gpa, c.size);
        let (s, t) = (c.caller.0, c.callee.0);
        assert_eq!(entry(&world, s, channels::OUT + 4 * u64::from(t)), e);
        assert_eq!(entry(&world, t, channels::IN + 4 * u64::from(s)), e);
    }
    // Nothing else is announced: a's OUT[c] (no edge a→c), d's whole page.
    assert_eq!(entry(&world, 0, channels::OUT + 4 * 2), 0);
    for offset in (0..4096).step_by(4) {
        assert_eq!(entry(&world, 3, offset), 0, "d's page at {offset:#x}");
    }
    // b's page: IN[a] and IN[c] only.
    let b_entries: Vec<u64> = (0..1024u64)
        .filter(|i| entry(&world, 1, 4 * i) != 0)
        .map(|i| 4 * i)
        .collect();
    assert_eq!(b_entries, [channels::IN, channels::IN + 8]);
}
