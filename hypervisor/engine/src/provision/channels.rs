//! Call buffers (docs/gates.md "Call buffers"): for each `calls` edge S→T the planner
//! placed (`tessera_core::layout::ChannelPlacement`), fresh zeroed frames mapped RW-,
//! never executable, in exactly views S and T at the same guest-physical address (the
//! guard page after it stays unmapped), and the two channel pages that say so: `OUT[T]`
//! in S's, `IN[S]` in T's (`tessera_abi::gate::channels`). Like a grant, a call buffer is
//! the same memory in both views on every backend: nothing in it is per-view, so the
//! SVM backend's per-view copies (of the guest page tables) do not concern it. It is
//! per vCPU: these are vCPU 0's buffers, mapped in the two views' `R(·,0)`; each other
//! vCPU gets buffers of its own with its roots (`super::percpu`).

use crate::ids::ViewId;
use crate::port::{Memory, PAGE};
use crate::world::{Channel, View};
use alloc::string::String;
use alloc::vec::Vec;
use tessera_abi::gate::channels;
use tessera_core::layout::ChannelPlacement;
use tessera_core::paging::{EntryFormat, Perms};

/// Allocates, maps and announces every call buffer of `placed`.
pub(super) fn provision<F: EntryFormat, M: Memory>(
    mem: &mut M,
    views: &mut [View<F>],
    placed: &[ChannelPlacement],
) -> Result<Vec<Channel>, String> {
    let mut all = Vec::with_capacity(placed.len());
    for p in placed {
        let edge = alloc::format!(
            "call buffer {}->{}",
            views[p.caller].compartment.name,
            views[p.callee].compartment.name
        );
        let frames = mem
            .alloc((p.size / PAGE) as usize, PAGE)
            .ok_or_else(|| alloc::format!("{edge}: out of memory"))?;
        for (view, table, peer) in [
            (p.caller, channels::OUT, p.callee),
            (p.callee, channels::IN, p.caller),
        ] {
            let v = &mut views[view];
            v.table
                .map_range(mem, p.gpa, frames.start(), p.size, Perms::RW)
                .map_err(|e| alloc::format!("{edge}: {e}"))?;
            write_entry(
                mem,
                v.pages.channels.start(),
                table + 4 * peer as u64,
                p.entry(),
            );
        }
        all.push(Channel {
            caller: ViewId(p.caller as u16),
            callee: ViewId(p.callee as u16),
            gpa: p.gpa,
            size: p.size,
            // vCPU 0's; the other vCPUs' come with their roots (`super::percpu`).
            frames: alloc::vec![frames],
        });
    }
    Ok(all)
}

/// Writes the u32 at `offset` of the channel page at `page` (the port writes u64s: the
/// u32's neighbour in the same word is kept).
fn write_entry<M: Memory>(mem: &mut M, page: u64, offset: u64, entry: u32) {
    let word = page + (offset & !7);
    let shift = 8 * (offset & 4);
    let old = mem.read_u64(word);
    let new = (old & !(0xFFFF_FFFF << shift)) | (u64::from(entry) << shift);
    mem.write_u64(word, new);
}
