//! The views' info and state pages as L1 reads and writes them: the words of
//! `tessera_abi::gate::{info, state}` through the memory port (one access each: the state
//! page is the guest's), core's [`CallStacks`] for containment, and the receiving gate's
//! inputs for `tessera_core::protocol::receive`.

use super::{Status, World};
use crate::ids::ViewId;
use crate::port::Memory;
use tessera_abi::gate::{info, state};
use tessera_core::contain::CallStacks;
use tessera_core::paging::EntryFormat;
use tessera_core::protocol::{Decision, Message, Receiver, receive};

impl<F: EntryFormat, M: Memory> World<F, M> {
    /// Word `offset` of `view`'s info page.
    pub fn info_word(&self, view: ViewId, offset: u64) -> u64 {
        let page = self.view(view).pages.info.start();
        self.mem.read_u64(page + (offset & 0xFF8))
    }

    /// Writes word `offset` of `view`'s info page.
    pub fn set_info_word(&mut self, view: ViewId, offset: u64, value: u64) {
        let page = self.view(view).pages.info.start();
        self.mem.write_u64(page + (offset & 0xFF8), value);
    }

    /// Word `offset` of `view`'s state page (the guest's: it may hold anything).
    pub fn state_word(&self, view: ViewId, offset: u64) -> u64 {
        let page = self.view(view).pages.state.start();
        self.mem.read_u64(page + (offset & 0xFF8))
    }

    /// Writes word `offset` of `view`'s state page.
    pub fn set_state_word(&mut self, view: ViewId, offset: u64, value: u64) {
        let page = self.view(view).pages.state.start();
        self.mem.write_u64(page + (offset & 0xFF8), value);
    }

    /// Marks a compartment stopped: its gate refuses calls from now on. Its call stack
    /// stays: L1 unwinds it (`tessera_core::contain::settle`).
    pub fn fail(&mut self, view: ViewId) {
        let v = self.view_mut(view);
        v.compartment.status = Status::Failed;
        v.stats.faults += 1;
        self.set_info_word(view, info::FAILED, 1);
    }

    /// Empties every view's call stack: a new `main` starts a new thread of control. A
    /// call arriving while a view is idle starts on its stack top (`state::IDLE_RSP`);
    /// the gate normalises segments to `state::DATA_SELECTOR`.
    pub fn reset_stacks(&mut self) {
        for view in self.ids() {
            for offset in [state::DEPTH, state::ACTIVE, state::SENTINEL] {
                self.set_state_word(view, offset, 0);
            }
            let top = self.info_word(view, info::STACK_TOP);
            self.set_state_word(view, state::IDLE_RSP, top);
            let selector = u64::from(tessera_core::guest::DATA_SELECTOR);
            self.set_state_word(view, state::DATA_SELECTOR, selector);
        }
    }

    /// `(calls_in, calls_out)` as the gate counted them in `view`'s state page.
    pub fn call_counts(&self, view: ViewId) -> (u64, u64) {
        (
            self.state_word(view, state::CALLS_IN),
            self.state_word(view, state::CALLS_OUT),
        )
    }

    /// Frames on `view`'s call stack.
    pub fn depth_of(&self, view: ViewId) -> usize {
        CallStacks::depth(self, view.index())
    }

    /// What view `to`'s gate will do with `msg`: it reads exactly these words of its
    /// pages (selected by the message's source and export index), and nothing runs
    /// between this read and the gate's.
    pub fn receiving_gate(&self, to: ViewId, msg: &Message) -> Decision {
        let word = |offset| self.info_word(to, offset);
        let callers = word(info::CALLERS + 8 * (msg.source / 64 % 8));
        let count = word(info::EXPORT_COUNT).min(info::MAX_EXPORTS);
        let export = if msg.word < count {
            word(info::EXPORTS + 8 * msg.word)
        } else {
            0
        };
        let depth = self.state_word(to, state::DEPTH);
        // TAGS[DEPTH - 1], as the gate indexes it (DEPTH 0 reads the sentinel).
        let top = self.state_word(
            to,
            (state::TAGS - 8).wrapping_add(depth.wrapping_mul(8)) & 0xFF8,
        );
        receive(
            msg,
            &Receiver {
                failed: word(info::FAILED) != 0,
                may_call: msg.source < 512 && callers & (1 << (msg.source % 64)) != 0,
                export,
                max_depth: word(info::MAX_DEPTH),
                active: self.state_word(to, state::ACTIVE),
                top,
            },
        )
    }
}

impl<F: EntryFormat, M: Memory> CallStacks for World<F, M> {
    fn views(&self) -> usize {
        self.views.len()
    }

    fn depth(&self, view: usize) -> usize {
        let depth = self.state_word(ViewId(view as u16), state::DEPTH);
        depth.min(state::MAX_FRAMES) as usize
    }

    fn tag(&self, view: usize, index: usize) -> u64 {
        self.state_word(ViewId(view as u16), state::TAGS + 8 * index as u64)
    }

    fn rsp(&self, view: usize, index: usize) -> u64 {
        self.state_word(ViewId(view as u16), state::RSPS + 8 * index as u64)
    }

    fn stopped(&self, view: usize) -> bool {
        self.views[view].compartment.stopped()
    }

    fn truncate(&mut self, view: usize, len: usize) {
        let active = (0..len)
            .filter(|&i| state::kind(self.tag(view, i)) == state::IN)
            .count();
        let id = ViewId(view as u16);
        self.set_state_word(id, state::DEPTH, len as u64);
        self.set_state_word(id, state::ACTIVE, active as u64);
    }
}
