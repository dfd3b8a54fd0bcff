//! Per-vCPU views on the fake machine (docs/gates.md "Per-vCPU views"): with 1, 2 and 4
//! vCPUs every root of a view maps the same frames except the per-vCPU pages (info,
//! state, stack, CPU-local page, call buffers), which are a frame of their own for each
//! (view, vCPU) at the same addresses; every root passes the VMFUNC scan; each vCPU's
//! list holds only its own roots; a restart resets every vCPU's pages; an emulated
//! VMFUNC on vCPU k switches through vCPU k's list.

mod common;

use common::{MEMORY, hello, manifest, pong};
use std::collections::{BTreeMap, BTreeSet};
use tessera_abi::gate::{self, info, op, state, status};
use tessera_core::paging::{Ept, Mapping};
use tessera_core::view_scan::{self, HostPages};
use tessera_core::watchdog::Watchdog;
use tessera_engine::boot;
use tessera_engine::fake::backend::{Event, FakeCpu, Step};
use tessera_engine::fake::{self, FakeMemory, Lines};
use tessera_engine::ids::ViewId;
use tessera_engine::port::{Memory, PAGE};
use tessera_engine::vcpu::{Flow, Vcpu};
use tessera_engine::world::World;

type FakeWorld = World<Ept, FakeMemory>;

const A: ViewId = ViewId(0);
const B: ViewId = ViewId(1);

/// a calls b and c, c calls b; a grant shared by a and c; b restarts on a fault.
fn app(cpus: usize) -> (FakeWorld, Lines) {
    let text = "tessera-manifest 1\ncompartment a calls=b,c\n\
                compartment b exports=pong call_buffer=8192 restart=on-fault\n\
                compartment c exports=pong calls=b\ngrant g size=8192 a=rw c=r\n";
    let modules = [
        ("manifest", manifest(text)),
        ("a", hello()),
        ("b", pong()),
        ("c", pong()),
    ];
    fake::world_smp(&modules, 4 * MEMORY, cpus).expect("provisioned")
}

fn mappings(world: &FakeWorld, view: ViewId, cpu: usize) -> BTreeMap<u64, Mapping> {
    let mut all = BTreeMap::new();
    let table = &world.view(view).roots[cpu].table;
    table
        .for_each_mapping(&world.mem, |m| {
            all.insert(m.gpa, m);
        })
        .expect("walk");
    all
}

/// The GPAs of `view`'s per-vCPU pages, as docs/gates.md lists them.
fn per_vcpu(world: &FakeWorld, view: ViewId) -> BTreeSet<u64> {
    let mut gpas: BTreeSet<u64> = [gate::INFO, gate::STATE, gate::LOCAL].into();
    let region = world.view(view).region;
    gpas.extend((region.stack_bottom..region.stack_top).step_by(PAGE as usize));
    for c in world
        .channels
        .iter()
        .filter(|c| c.caller == view || c.callee == view)
    {
        gpas.extend((c.gpa..c.gpa + c.size).step_by(PAGE as usize));
    }
    gpas
}

#[test]
fn every_root_maps_the_same_frames_but_its_own_per_vcpu_pages() {
    for cpus in [1, 2, 4] {
        let (world, lines) = app(cpus);
        assert!(lines.records("REJECT").is_empty(), "{:?}", lines.all());
        assert_eq!(world.cpus(), cpus);
        // Each (view, vCPU) page of its own: no frame of one is another's.
        let mut owners: BTreeMap<u64, (u16, usize, u64)> = BTreeMap::new();
        for view in world.ids() {
            let own = per_vcpu(&world, view);
            let base = mappings(&world, view, 0);
            assert_eq!(world.view(view).roots.len(), cpus);
            for cpu in 0..cpus {
                let root = mappings(&world, view, cpu);
                let gpas: Vec<_> = root.keys().collect();
                assert_eq!(gpas, base.keys().collect::<Vec<_>>(), "same addresses");
                for (gpa, m) in &root {
                    let b = &base[gpa];
                    assert_eq!((m.perms, m.size), (b.perms, b.size), "{gpa:#x}");
                    if !own.contains(gpa) {
                        assert_eq!(m.hpa, b.hpa, "{view} vCPU {cpu}: {gpa:#x} shared");
                        continue;
                    }
                    assert!(cpu == 0 || m.hpa != b.hpa, "{view} vCPU {cpu}: {gpa:#x}");
                    // A call buffer is the same frame in its two views on one vCPU.
                    let key = world
                        .channels
                        .iter()
                        .position(|c| (c.gpa..c.gpa + c.size).contains(gpa))
                        .map_or(u64::from(view.0), |c| 1000 + c as u64);
                    let prev = owners.insert(m.hpa, (key as u16, cpu, *gpa));
                    assert!(
                        prev.is_none_or(|p| p == (key as u16, cpu, *gpa)),
                        "{view} vCPU {cpu}: {gpa:#x} also {prev:?}"
                    );
                }
                // The info page says which vCPU; everything else L1 wrote is the same.
                assert_eq!(world.info_word_on(cpu, view, info::CPU), cpu as u64);
                assert_eq!(world.info_word_on(cpu, view, info::CPUS), cpus as u64);
                for w in [info::VIEW, info::STACK_TOP, info::EXPORTS, info::HEAP_BASE] {
                    assert_eq!(world.info_word_on(cpu, view, w), world.info_word(view, w));
                }
                // The idle stack is set on every other vCPU before anything runs (vCPU 0's
                // with its first `main`, as with one vCPU).
                let top = world.info_word(view, info::STACK_TOP);
                let idle = world.state_word_on(cpu, view, state::IDLE_RSP);
                assert_eq!(idle, if cpu == 0 { 0 } else { top });
                // Only the walks to its own pages are copied: the first GiB's PML4, PDPT,
                // PD, the gate's page table, the stack's, the grant area's.
                let private = world.view(view).roots[cpu]
                    .table
                    .private_tables(&world.mem, &world.view(view).table)
                    .expect("walk");
                let expected = if cpu == 0 { 0 } else { 6 };
                assert!(private.len() <= expected, "{view} vCPU {cpu}: {private:x?}");
            }
            // vCPU 0's root is the view's table: a single vCPU has nothing else.
            assert_eq!(world.view(view).roots[0].table, world.view(view).table);
        }
        if cpus == 1 {
            assert_eq!(world.lists.len(), 1);
            assert_eq!(world.channels[0].frames.len(), 1);
        }
    }
}

struct Pages<'a>(&'a FakeMemory);

impl HostPages for Pages<'_> {
    fn page(&self, hpa: u64) -> Option<&[u8; 4096]> {
        self.0.page(hpa)
    }
}

#[test]
fn every_root_passes_the_vmfunc_scan_and_each_list_holds_only_its_own_vcpus_roots() {
    let (world, _) = app(4);
    for view in world.ids() {
        let slot = gate::SLOTS + gate::SLOT_SIZE * u64::from(view.0);
        for (cpu, root) in world.view(view).roots.iter().enumerate() {
            view_scan::check_view(&root.table, &world.mem, &Pages(&world.mem), slot, None)
                .unwrap_or_else(|e| panic!("{view} on vCPU {cpu}: {e:?}"));
        }
    }
    let pointers: Vec<Vec<u64>> = (0..4).map(|k| world.pointers(k)).collect();
    for k in 0..4 {
        let list = world.list(k);
        assert_eq!(&list[..3], &pointers[k][..], "vCPU {k}'s list is its roots");
        assert!(list[3..].iter().all(|&e| e == 0));
        for j in (0..4).filter(|&j| j != k) {
            for (v, &root) in pointers[j].iter().enumerate() {
                assert!(!list.contains(&root), "R({v},{j}) in vCPU {k}'s list");
                assert_eq!(world.view_of_root(k, root), None, "R({v},{j}) on vCPU {k}");
            }
        }
        for (v, &root) in pointers[k].iter().enumerate() {
            assert_eq!(world.view_of_root(k, root), Some(ViewId(v as u16)));
            assert_eq!(world.at_slot(k, v as u16), Some(ViewId(v as u16)));
        }
    }
}

#[test]
fn a_restart_resets_every_vcpus_pages_and_waits_for_every_vcpus_frames() {
    let (mut w, _) = app(2);
    let secret = *b"left behind on some vCPU";
    let poke = |w: &mut FakeWorld| {
        let v = w.view(B);
        let mut at: Vec<u64> = vec![v.pages.shared.start()];
        for r in &v.roots {
            at.push(r.state.start() + 0x800);
            at.push(r.local.start());
            at.push(r.stack.as_ref().map_or(0, |s| s.start()));
        }
        at.retain(|&a| a != 0);
        at.push(v.image.as_ref().expect("image").stack.start());
        for a in at {
            w.mem.poke(a, &secret);
        }
    };
    poke(&mut w);
    w.fail(B, "privileged");
    for cpu in 0..2 {
        assert_eq!(w.info_word_on(cpu, B, info::FAILED), status::RESTARTING);
    }
    // vCPU 1 still has a frame of b: no restart yet.
    w.set_state_word_on(1, B, state::DEPTH, 1);
    w.restart_ready((0, A, false), &|| 0)
        .expect("restart_ready");
    assert!(w.view(B).lifecycle.pending.is_some(), "waits for vCPU 1");
    w.set_state_word_on(1, B, state::DEPTH, 0);
    // vCPU 1 runs b's `main` (no frame: it executes its own code): no restart yet.
    w.set_running(1, Some(B));
    w.restart_ready((0, A, false), &|| 0)
        .expect("restart_ready");
    assert!(
        w.view(B).lifecycle.pending.is_some(),
        "waits for b's main on vCPU 1"
    );
    // Its main over on vCPU 1, b restarts from there.
    w.restart_ready((1, B, true), &|| 0).expect("restart_ready");
    assert!(w.view(B).lifecycle.pending.is_none(), "restarted");
    let v = w.view(B);
    let mut zones = vec![&v.pages.shared, &v.image.as_ref().unwrap().stack];
    for r in &v.roots {
        zones.extend([&r.state, &r.local]);
        zones.extend(&r.stack);
    }
    for zone in zones {
        let found = w.mem.bytes(zone).windows(secret.len()).any(|x| x == secret);
        assert!(!found, "the secret survived the restart in {zone:?}");
    }
    let top = w.info_word(B, info::STACK_TOP);
    for cpu in 0..2 {
        assert_eq!(w.info_word_on(cpu, B, info::FAILED), 0);
        assert_eq!(w.info_word_on(cpu, B, info::RESTARTS), 1);
        assert_eq!(w.state_word_on(cpu, B, state::IDLE_RSP), top);
    }
}

fn vcpu(world: &FakeWorld, cpu: usize, script: Vec<Step>) -> Vcpu<FakeCpu> {
    let budgets = boot::budgets(&world.manifest, None);
    let mut fake = FakeCpu::new(Ept::new(true), script);
    fake.cpu = cpu;
    Vcpu::new(fake, Watchdog::new(budgets, true))
}

/// The `VMFUNC` at a's own slot to b, refused by the CPU with #UD (emulated).
fn to_b() -> Step {
    Step::ud().at(gate::SLOTS).regs(|g| {
        g.rax = 0;
        g.rcx = u64::from(B.0);
        g.r12 = op::CALL;
        g.rbx = 0;
        g.r14 = 0;
    })
}

#[test]
fn an_emulated_vmfunc_on_vcpu_k_switches_through_vcpu_ks_list() {
    for (cpu, other) in [(1, 0), (0, 1)] {
        // The other vCPU's slot for b is cleared: this vCPU's switch does not notice.
        let (mut world, _) = app(2);
        world.lists[other][usize::from(B.0)] = 0;
        let mut v = vcpu(&world, cpu, vec![to_b()]);
        v.start(&mut world, A).expect("started");
        assert_eq!(v.step(&mut world, A), Ok(None), "vCPU {cpu}");
        assert!(v.cpu.did(Event::SwitchTo(B)));
        // This vCPU's slot for b cleared: its switch fails (a's own doing).
        let (mut world, lines) = app(2);
        world.lists[cpu][usize::from(B.0)] = 0;
        let mut v = vcpu(&world, cpu, vec![to_b()]);
        v.start(&mut world, A).expect("started");
        assert_eq!(
            v.step(&mut world, A),
            Ok(Some(Flow::MainOver)),
            "vCPU {cpu}"
        );
        assert!(!v.cpu.did(Event::SwitchTo(B)));
        assert_eq!(lines.records("FAULT").len(), 1, "{:?}", lines.all());
    }
}
