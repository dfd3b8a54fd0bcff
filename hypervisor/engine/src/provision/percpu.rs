//! The per-vCPU views (docs/gates.md "Per-vCPU views"): for view V and vCPU k ≥ 1 the
//! root `R(V,k)`, a fork of `R(V,0)` (`PageTable::fork`) that maps the same frames
//! everywhere except the per-vCPU pages, which map frames of its own at the same
//! guest-physical addresses: the info page (a copy of vCPU 0's whose `CPU` word is k),
//! the state page, V's stack, the CPU-local page, and the call buffer of each `calls`
//! edge of V (one buffer per (edge, vCPU), mapped in the edge's two roots on that vCPU).
//! Then vCPU k's EPTP list `[R(0,k), R(1,k), …]`, and the info word `MAIN` in every
//! copy (1 on the vCPU the manifest places the view's `main` on). With one vCPU nothing
//! is forked: the world is exactly `R(·,0)` and one list.

use super::view::pointer;
use crate::port::{Frames, Memory, PAGE};
use crate::world::{Root, Status, World};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use tessera_abi::gate::{self, info};
use tessera_core::paging::{EntryFormat, EptpRules};

/// Builds every vCPU's roots and lists. Returns the bytes one (view, vCPU) past vCPU 0
/// took on average (tables, pages, buffers), as the frame allocator counts them; 0 with
/// one vCPU.
pub(super) fn provision<F: EntryFormat + Clone, M: Memory>(
    world: &mut World<F, M>,
    cpus: usize,
    rules: &EptpRules,
) -> Result<u64, String> {
    let before = world.mem.free_bytes();
    for cpu in 1..cpus {
        for channel in &mut world.channels {
            let frames = world
                .mem
                .alloc((channel.size / PAGE) as usize, PAGE)
                .ok_or_else(|| alloc::format!("call buffer on vCPU {cpu}: out of memory"))?;
            channel.frames.push(frames);
        }
        for i in 0..world.views.len() {
            let root = fork(world, i, cpu, rules)?;
            world.views[i].roots.push(root);
        }
    }
    world.lists = (0..cpus)
        .map(|cpu| {
            let mut list = Box::new([0u64; 512]);
            for (slot, view) in list.iter_mut().zip(&world.views) {
                *slot = view.pointer(cpu);
            }
            list
        })
        .collect();
    for cpu in 1..cpus {
        for view in world.ids() {
            world.reset_stack_on(cpu, view);
        }
    }
    write_main(world);
    let used = before.saturating_sub(world.mem.free_bytes());
    let pairs = (world.views.len() * (cpus - 1)) as u64;
    Ok(used.checked_div(pairs).unwrap_or(0))
}

/// The info word `MAIN` in every (view, vCPU) copy: 1 where the view's `main` is placed
/// (manifest `cpu = K`) and it has one (its image was loaded), else 0.
fn write_main<F: EntryFormat, M: Memory>(world: &mut World<F, M>) {
    let World {
        mem,
        views,
        manifest,
        ..
    } = world;
    for (view, decl) in views.iter().zip(&manifest.compartments) {
        let has_main = view.compartment.status != Status::Rejected;
        for (cpu, root) in view.roots.iter().enumerate() {
            let here = has_main && decl.main_on(cpu);
            mem.write_u64(root.info.start() + info::MAIN, u64::from(here));
        }
    }
}

/// View `i`'s root on vCPU `cpu`, with its own per-vCPU pages.
fn fork<F: EntryFormat + Clone, M: Memory>(
    world: &mut World<F, M>,
    i: usize,
    cpu: usize,
    rules: &EptpRules,
) -> Result<Root<F>, String> {
    let World {
        mem,
        views,
        channels,
        ..
    } = world;
    let view = &views[i];
    let oom = || alloc::format!("view of '{}' on vCPU {cpu}: out of memory", view.name());
    let info = mem.frame().ok_or_else(oom)?;
    let bytes: Vec<u8> = mem.bytes(&view.roots[0].info).into();
    mem.bytes_mut(&info).copy_from_slice(&bytes);
    mem.write_u64(info.start() + info::CPU, cpu as u64);
    let state = mem.frame().ok_or_else(oom)?;
    let local = mem.frame().ok_or_else(oom)?;
    let mut pages = alloc::vec![
        (gate::INFO, info.start()),
        (gate::STATE, state.start()),
        (gate::LOCAL, local.start()),
    ];
    let stack = match &view.image {
        Some(image) => {
            let stack = mem.alloc(image.stack.pages(), PAGE).ok_or_else(oom)?;
            pages.extend(spread(view.region.stack_bottom, &stack));
            Some(stack)
        }
        None => None,
    };
    for c in channels
        .iter()
        .filter(|c| c.caller.index() == i || c.callee.index() == i)
    {
        pages.extend(spread(c.gpa, &c.frames[cpu]));
    }
    let err = |e| alloc::format!("view of '{}' on vCPU {cpu}: {e}", view.name());
    let table = view.table.fork(mem, &pages).map_err(err)?;
    let pointer = pointer(&table, rules, view.name())?;
    Ok(Root {
        table,
        pointer,
        info,
        state,
        local,
        stack,
    })
}

/// `(gpa, hpa)` of each page of `frames` mapped from `gpa` on.
fn spread(gpa: u64, frames: &Frames) -> impl Iterator<Item = (u64, u64)> + '_ {
    (0..frames.pages() as u64).map(move |p| (gpa + p * PAGE, frames.start() + p * PAGE))
}
