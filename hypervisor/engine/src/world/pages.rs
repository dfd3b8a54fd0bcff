//! The views' info and state pages as L1 reads and writes them: the words of
//! `tessera_abi::gate::{info, state}` through the memory port (one access each: the state
//! page is the guest's), core's [`CallStacks`] for containment, and the receiving gate's
//! inputs for `tessera_core::protocol::receive`.

use super::World;
use crate::ids::ViewId;
use crate::port::Memory;
use tessera_abi::gate::{info, state};
use tessera_core::paging::EntryFormat;
use tessera_core::protocol::{Decision, Message, ReceiverPages, receive};

impl<F: EntryFormat, M: Memory> World<F, M> {
    /// Word `offset` of `view`'s info page on vCPU 0 (L1 writes every word but `CPU`
    /// the same on every vCPU: [`World::set_info_word`]).
    pub fn info_word(&self, view: ViewId, offset: u64) -> u64 {
        self.info_word_on(0, view, offset)
    }

    /// Word `offset` of `view`'s info page on vCPU `cpu`.
    pub fn info_word_on(&self, cpu: usize, view: ViewId, offset: u64) -> u64 {
        let page = self.view(view).roots[cpu].info.start();
        self.mem.read_u64(page + (offset & 0xFF8))
    }

    /// Writes word `offset` of `view`'s info page on every vCPU (`FAILED`, `RESTARTS`:
    /// what L1 says of a view it says on every vCPU, docs/gates.md "Faults, stops and
    /// restarts across vCPUs").
    pub fn set_info_word(&mut self, view: ViewId, offset: u64, value: u64) {
        let World { mem, views, .. } = self;
        for root in &views[view.index()].roots {
            mem.write_u64(root.info.start() + (offset & 0xFF8), value);
        }
    }

    /// Writes word `offset` of `view`'s info page on vCPU `cpu` only (`MAIN`).
    pub fn set_info_word_on(&mut self, cpu: usize, view: ViewId, offset: u64, value: u64) {
        let page = self.view(view).roots[cpu].info.start();
        self.mem.write_u64(page + (offset & 0xFF8), value);
    }

    /// Word `offset` of `view`'s state page on vCPU 0 (the guest's: it may hold anything).
    pub fn state_word(&self, view: ViewId, offset: u64) -> u64 {
        self.state_word_on(0, view, offset)
    }

    /// Word `offset` of `view`'s state page on vCPU `cpu`: thread `cpu`'s frames.
    pub fn state_word_on(&self, cpu: usize, view: ViewId, offset: u64) -> u64 {
        let page = self.view(view).roots[cpu].state.start();
        self.mem.read_u64(page + (offset & 0xFF8))
    }

    /// Writes word `offset` of `view`'s state page on vCPU 0.
    pub fn set_state_word(&mut self, view: ViewId, offset: u64, value: u64) {
        self.set_state_word_on(0, view, offset, value);
    }

    /// Writes word `offset` of `view`'s state page on vCPU `cpu`.
    pub fn set_state_word_on(&mut self, cpu: usize, view: ViewId, offset: u64, value: u64) {
        let page = self.view(view).roots[cpu].state.start();
        self.mem.write_u64(page + (offset & 0xFF8), value);
    }

    /// Empties `view`'s call stack on every vCPU and sets the words L1 gives its gate
    /// (at provisioning, and after a restart zeroed its state pages).
    pub fn reset_stack(&mut self, view: ViewId) {
        for cpu in 0..self.cpus() {
            self.reset_stack_on(cpu, view);
        }
    }

    /// Empties `view`'s call stack on vCPU `cpu` and sets the words L1 gives its gate
    /// there: the idle stack (the same address on every vCPU, each its own frames) and
    /// the data selector.
    pub fn reset_stack_on(&mut self, cpu: usize, view: ViewId) {
        for offset in [state::DEPTH, state::SENTINEL] {
            self.set_state_word_on(cpu, view, offset, 0);
        }
        let top = self.info_word_on(cpu, view, info::STACK_TOP);
        self.set_state_word_on(cpu, view, state::IDLE_RSP, top);
        let selector = u64::from(tessera_core::guest::DATA_SELECTOR);
        self.set_state_word_on(cpu, view, state::DATA_SELECTOR, selector);
    }

    /// `(calls_in, calls_out)` as the gate counted them in `view`'s state pages, summed
    /// over every vCPU.
    pub fn call_counts(&self, view: ViewId) -> (u64, u64) {
        (0..self.cpus()).fold((0, 0), |(i, o), cpu| {
            (
                i + self.state_word_on(cpu, view, state::CALLS_IN),
                o + self.state_word_on(cpu, view, state::CALLS_OUT),
            )
        })
    }

    /// Frames on `view`'s call stack on vCPU `cpu`.
    pub fn depth_on(&self, cpu: usize, view: ViewId) -> usize {
        let depth = self.state_word_on(cpu, view, state::DEPTH);
        depth.min(state::MAX_FRAMES) as usize
    }

    /// What view `to`'s gate will do with `msg`: it reads exactly the words of its pages
    /// the gate reads for that message (selected by the message's op, source and export
    /// index: `tessera_core::protocol::ReceiverPages`), and nothing runs between this read
    /// and the gate's.
    ///
    /// The emulated switch decides one message at every switch, so the two pages are
    /// borrowed whole (`Memory::page`, one range check each) rather than read a checked
    /// word at a time: the guest is stopped at this exit, and only a view running on this
    /// vCPU can write the state page L1 reads (no other vCPU's root maps it).
    /// `cpu` is the vCPU switching: the gate reads its own pages there.
    pub fn receiving_gate(&self, cpu: usize, to: ViewId, msg: &Message) -> Decision {
        let pages = &self.view(to).roots[cpu];
        let page = |pa: u64| {
            self.mem
                .page(pa)
                .unwrap_or_else(|| panic!("L1 bug: the gate page {pa:#x} is not L1's"))
        };
        receive(
            msg,
            &GatePages {
                info: page(pages.info.start()),
                state: page(pages.state.start()),
                msg,
            },
        )
    }
}

/// One view's info and state pages as its gate reads them for one message.
struct GatePages<'a> {
    info: &'a [u8; 4096],
    state: &'a [u8; 4096],
    msg: &'a Message,
}

/// The little-endian word at `offset` (rounded down to 8 bytes) of `page`.
#[inline]
fn word(page: &[u8; 4096], offset: u64) -> u64 {
    let at = (offset & 0xFF8) as usize;
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&page[at..at + 8]);
    u64::from_le_bytes(bytes)
}

impl GatePages<'_> {
    fn info(&self, offset: u64) -> u64 {
        word(self.info, offset)
    }

    fn state(&self, offset: u64) -> u64 {
        word(self.state, offset)
    }
}

impl ReceiverPages for GatePages<'_> {
    fn failed(&self) -> u64 {
        self.info(info::FAILED)
    }

    fn may_call(&self) -> bool {
        let source = self.msg.source;
        source < 512 && self.info(info::CALLERS + 8 * (source / 64)) & (1 << (source % 64)) != 0
    }

    fn export(&self) -> u64 {
        let count = self.info(info::EXPORT_COUNT).min(info::MAX_EXPORTS);
        if self.msg.word < count {
            self.info(info::EXPORTS + 8 * self.msg.word)
        } else {
            0
        }
    }

    fn depth_limit(&self) -> u64 {
        self.info(info::DEPTH_LIMIT)
    }

    fn depth(&self) -> u64 {
        self.state(state::DEPTH)
    }

    fn top(&self) -> u64 {
        // TAGS[DEPTH - 1], as the gate indexes it (DEPTH 0 reads the sentinel).
        let depth = self.state(state::DEPTH);
        self.state((state::TAGS - 8).wrapping_add(depth.wrapping_mul(8)) & 0xFF8)
    }
}
