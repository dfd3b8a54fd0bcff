//! One view's second-level table, before its image is loaded: the shared environment
//! (or the view's private copy of the guest page tables), the gate region with the view's
//! own slot page and its info, state, channel, CPU-local and shared pages, and the grants
//! the manifest gives it (its call buffers come once every view exists:
//! `super::channels`). This is the view's root on vCPU 0; the other vCPUs' are forks of
//! it (`super::percpu`).

use super::Paging;
use super::shared::{Environment, SharedGate, filled};
use crate::ids::ViewId;
use crate::port::{Frames, Memory, PAGE};
use crate::world::{Grant, Root, ViewPages};
use alloc::string::String;
use alloc::vec::Vec;
use tessera_abi::gate::{self, info};
use tessera_core::guest;
use tessera_core::manifest::{Access, Manifest};
use tessera_core::paging::{
    EntryFormat, Eptp, MemoryType, PageTable, PagingError, Perms, validate_eptp,
};

/// What a view's info page says besides its own identity.
#[derive(Debug, Clone, Copy)]
pub struct Info {
    pub views: usize,
    pub stack_top: u64,
    /// `(base, bytes)` of its heap.
    pub heap: (u64, u64),
    pub exports: usize,
    pub callers: [u64; 8],
    pub failed: bool,
    /// Most nested activations (manifest `max_depth`).
    pub max_depth: u64,
    /// vCPUs (each with its own EPTP list).
    pub cpus: usize,
    /// Manifest `concurrency`.
    pub concurrency: tessera_core::manifest::Concurrency,
}

/// A view's table and pages, mapped.
#[derive(Debug)]
pub struct Mapped<F: EntryFormat> {
    /// Its root on vCPU 0, with its per-vCPU pages there.
    pub root: Root<F>,
    pub pages: ViewPages,
}

/// Everything one view is built from.
#[derive(Debug)]
pub struct Shared<'a, F> {
    pub paging: &'a Paging<F>,
    pub env: &'a Environment,
    pub gate: &'a SharedGate,
    pub grants: &'a [Grant],
    pub manifest: &'a Manifest,
    /// Guest tables writable (the conformance fixture's A/D-enabled entry needs it).
    pub writable_env: bool,
    /// vCPUs (the info page's `CPUS`).
    pub cpus: usize,
}

/// Builds view `id`'s table with everything but its image.
pub fn map<F: EntryFormat + Copy, M: Memory>(
    mem: &mut M,
    id: ViewId,
    shared: &Shared<'_, F>,
    info: &Info,
) -> Result<Mapped<F>, String> {
    let name = &shared.manifest.compartments[id.index()].name;
    let err = |e: PagingError| alloc::format!("view of '{name}': {e}");
    let mut table =
        PageTable::new(shared.paging.format, shared.paging.maxphyaddr, mem).map_err(err)?;
    let private = map_environment(mem, &mut table, shared).map_err(err)?;
    let own_slot = map_gate(mem, &mut table, id, shared.gate)?;
    let info_page = mem.frame().ok_or("out of memory for the gate")?;
    let state_page = mem.frame().ok_or("out of memory for the gate")?;
    let channel_page = mem.frame().ok_or("out of memory for the gate")?;
    let local_page = mem.frame().ok_or("out of memory for the gate")?;
    let shared_page = mem.frame().ok_or("out of memory for the gate")?;
    table
        .map_range(mem, gate::INFO, info_page.start(), PAGE, Perms::R)
        .map_err(err)?;
    table
        .map_range(mem, gate::STATE, state_page.start(), PAGE, Perms::RW)
        .map_err(err)?;
    // Filled by `super::channels::provision` once every view exists.
    table
        .map_range(mem, gate::CHANNELS, channel_page.start(), PAGE, Perms::R)
        .map_err(err)?;
    // Read-write, never executable: data of the view's own (the SDK's), read by nobody
    // else.
    table
        .map_range(mem, gate::LOCAL, local_page.start(), PAGE, Perms::RW)
        .map_err(err)?;
    table
        .map_range(mem, gate::SHARED, shared_page.start(), PAGE, Perms::RW)
        .map_err(err)?;
    write_info(mem, &info_page, id, info);
    map_grants(mem, &mut table, id, shared).map_err(err)?;
    let pointer = pointer(&table, &shared.paging.rules, name)?;
    Ok(Mapped {
        root: Root {
            table,
            pointer,
            info: info_page,
            state: state_page,
            local: local_page,
            stack: None,
        },
        pages: ViewPages {
            shared: shared_page,
            channels: channel_page,
            own_slot,
            private,
        },
    })
}

/// `table`'s pointer in EPTP form, checked against the CPU's rules.
pub(super) fn pointer<F: EntryFormat>(
    table: &PageTable<F>,
    rules: &tessera_core::paging::EptpRules,
    name: &str,
) -> Result<u64, String> {
    let pointer = Eptp::encode(table.root(), MemoryType::WriteBack, 4, false)
        .map_err(|e| alloc::format!("EPTP of '{name}': {e}"))?
        .bits();
    validate_eptp(pointer, rules).map_err(|e| alloc::format!("EPTP of '{name}': {e}"))?;
    Ok(pointer)
}

/// Maps the guest page tables and GDT: shared and read-only, or (where the CPU's nested
/// walk wants write access to guest page tables) the view's own read-write copy, so a
/// compartment can only ever change its own. The GDT stays shared and read-only.
fn map_environment<F: EntryFormat, M: Memory>(
    mem: &mut M,
    table: &mut PageTable<F>,
    shared: &Shared<'_, F>,
) -> Result<Vec<Frames>, PagingError> {
    let mut private = Vec::new();
    let perms = if shared.writable_env {
        Perms::RW
    } else {
        Perms::R
    };
    for (gpa, frame) in &shared.env.pages {
        let is_table = *gpa != guest::GDT_GPA;
        if is_table && shared.paging.private_guest_tables {
            let bytes: Vec<u8> = mem.bytes(frame).into();
            let copy =
                filled(mem, &bytes, "guest page tables").map_err(|_| PagingError::OutOfTables)?;
            table.map_range(mem, *gpa, copy.start(), PAGE, Perms::RW)?;
            private.push(copy);
        } else {
            table.map_range(mem, *gpa, frame.start(), PAGE, perms)?;
        }
    }
    Ok(private)
}

/// Maps the gate code and the slot pages (the view's own copy of the page holding its
/// slot, the shared all-`int3` copy of the other), after core checked that the only
/// `VMFUNC` in them is the view's own slot. Returns the own slot page.
fn map_gate<F: EntryFormat, M: Memory>(
    mem: &mut M,
    table: &mut PageTable<F>,
    id: ViewId,
    gate: &SharedGate,
) -> Result<Frames, String> {
    let i = id.0 as u64;
    let err = |e| alloc::format!("gate of {id}: {e}");
    let own = tessera_core::gate::own_page(i);
    let bytes = tessera_core::gate::slot_page(own, Some(i), gate.land)
        .map_err(|e| alloc::format!("gate: {e:?}"))?;
    let own_slot = filled(mem, &bytes, "the gate")?;
    let slots = if own == 0 {
        [own_slot.start(), gate.int3[1].start()]
    } else {
        [gate.int3[0].start(), own_slot.start()]
    };
    let code: Vec<u8> = gate
        .code
        .iter()
        .flat_map(|f| mem.bytes(f).iter().copied())
        .collect();
    let page = |pa| {
        mem.page(pa)
            .ok_or_else(|| alloc::format!("gate page {pa:#x}"))
    };
    tessera_core::gate::check_view(i, [page(slots[0])?, page(slots[1])?], &code)
        .map_err(|e| alloc::format!("gate check for {id}: {e:?}"))?;
    for (k, pa) in slots.iter().enumerate() {
        let at = gate::SLOTS + PAGE * k as u64;
        table
            .map_range(mem, at, *pa, PAGE, gate.perms)
            .map_err(err)?;
    }
    for (k, frame) in gate.code.iter().enumerate() {
        let at = gate::CODE + PAGE * k as u64;
        table
            .map_range(mem, at, frame.start(), PAGE, gate.perms)
            .map_err(err)?;
    }
    Ok(own_slot)
}

fn write_info<M: Memory>(mem: &mut M, page: &Frames, id: ViewId, info: &Info) {
    let i = u64::from(id.0);
    let words = [
        (info::MAGIC_OFFSET, info::MAGIC),
        (info::VIEW, i),
        (info::SLOT_ADDR, gate::SLOTS + gate::SLOT_SIZE * i),
        (info::STACK_TOP, info.stack_top),
        (info::EXPORT_COUNT, info.exports as u64),
        (info::VIEWS, info.views as u64),
        (info::FAILED, u64::from(info.failed)),
        // The gate bounds DEPTH by 2 × max_depth (frames [OUT] (IN OUT)*: docs/gates.md).
        (info::DEPTH_LIMIT, 2 * info.max_depth),
        (info::HEAP_BASE, info.heap.0),
        (info::HEAP_SIZE, info.heap.1),
        (info::CPU, 0),
        (info::CPUS, info.cpus as u64),
        (info::CONCURRENCY, info.concurrency.word()),
        (info::CLAIM_BELOW, info.concurrency.claim_below()),
    ];
    for (offset, value) in words {
        mem.write_u64(page.start() + offset, value);
    }
    for (w, word) in info.callers.iter().enumerate() {
        mem.write_u64(page.start() + info::CALLERS + 8 * w as u64, *word);
    }
}

fn map_grants<F: EntryFormat, M: Memory>(
    mem: &mut M,
    table: &mut PageTable<F>,
    id: ViewId,
    shared: &Shared<'_, F>,
) -> Result<(), PagingError> {
    let name = &shared.manifest.compartments[id.index()].name;
    for (decl, grant) in shared.manifest.grants.iter().zip(shared.grants) {
        if let Some((_, access)) = decl.access.iter().find(|(c, _)| c == name) {
            let perms = if *access == Access::ReadWrite {
                Perms::RW
            } else {
                Perms::R
            };
            table.map_range(mem, grant.gpa, grant.frames.start(), grant.size, perms)?;
        }
    }
    Ok(())
}
