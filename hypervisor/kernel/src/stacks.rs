//! The views' info and state pages as core's containment and protocol model read them:
//! [`CallStacks`] for `tessera_core::contain::settle`, and the receiving gate's inputs for
//! `tessera_core::protocol::receive` (trapped switching: the watchdog's activations).

use crate::gate_pages::{read_u64, write_u64};
use crate::system::{Status, System};
use tessera_abi::gate::{info, state};
use tessera_core::contain::CallStacks;
use tessera_core::paging::EntryFormat;
use tessera_core::protocol::{Decision, Message, Receiver, receive};

impl<F: EntryFormat> CallStacks for System<F> {
    fn views(&self) -> usize {
        self.views.len()
    }

    fn depth(&self, view: usize) -> usize {
        let depth = read_u64(self.views[view].state_hpa, state::DEPTH);
        depth.min(state::MAX_FRAMES) as usize
    }

    fn tag(&self, view: usize, index: usize) -> u64 {
        read_u64(self.views[view].state_hpa, state::TAGS + 8 * index as u64)
    }

    fn rsp(&self, view: usize, index: usize) -> u64 {
        read_u64(self.views[view].state_hpa, state::RSPS + 8 * index as u64)
    }

    fn stopped(&self, view: usize) -> bool {
        matches!(self.views[view].status, Status::Failed | Status::Rejected)
    }

    fn truncate(&mut self, view: usize, len: usize) {
        let active = (0..len)
            .filter(|&i| state::kind(self.tag(view, i)) == state::IN)
            .count();
        let page = self.views[view].state_hpa;
        write_u64(page, state::DEPTH, len as u64);
        write_u64(page, state::ACTIVE, active as u64);
    }
}

impl<F: EntryFormat> System<F> {
    /// Frames on `view`'s call stack.
    pub fn depth_of(&self, view: usize) -> usize {
        CallStacks::depth(self, view)
    }

    /// What view `to`'s gate will do with `msg`: it reads exactly these words of its
    /// pages (selected by the message's source and export index), and nothing runs
    /// between this read and the gate's.
    pub fn receiving_gate(&self, to: usize, msg: &Message) -> Decision {
        let v = &self.views[to];
        let (info_page, state_page) = (v.info_hpa, v.state_hpa);
        let callers = read_u64(info_page, info::CALLERS + 8 * (msg.source / 64 % 8));
        let count = read_u64(info_page, info::EXPORT_COUNT).min(info::MAX_EXPORTS);
        let export = if msg.word < count {
            read_u64(info_page, info::EXPORTS + 8 * msg.word)
        } else {
            0
        };
        let depth = read_u64(state_page, state::DEPTH);
        // TAGS[DEPTH - 1], as the gate indexes it (DEPTH 0 reads the sentinel).
        let top = read_u64(
            state_page,
            (state::TAGS - 8).wrapping_add(depth.wrapping_mul(8)) & 0xFF8,
        );
        receive(
            msg,
            &Receiver {
                failed: read_u64(info_page, info::FAILED) != 0,
                may_call: msg.source < 512 && callers & (1 << (msg.source % 64)) != 0,
                export,
                max_depth: read_u64(info_page, info::MAX_DEPTH),
                active: read_u64(state_page, state::ACTIVE),
                top,
            },
        )
    }
}
