//! The world's threads of control, one per vCPU (docs/gates.md "SMP"): which `main`
//! each vCPU runs, where each `main` is placed, and thread k's call stacks ([`OnCpu`]),
//! which containment reads and repairs without touching another vCPU's frames.

use super::World;
use crate::ids::ViewId;
use crate::port::Memory;
use tessera_abi::gate::state;
use tessera_core::contain::CallStacks;
use tessera_core::paging::EntryFormat;

/// What L1 keeps of one vCPU's thread.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ThreadState {
    /// The `main` it runs now.
    pub main: Option<ViewId>,
    /// VM exits on this vCPU (what EXIT_COUNT answers there).
    pub exits: u64,
}

impl<F: EntryFormat, M: Memory> World<F, M> {
    /// vCPU `cpu`'s thread, to change it.
    fn thread_mut(&mut self, cpu: usize) -> &mut ThreadState {
        if self.threads.len() <= cpu {
            self.threads.resize(cpu + 1, ThreadState::default());
        }
        &mut self.threads[cpu]
    }

    /// Records the `main` vCPU `cpu` runs (`None`: none now).
    pub fn set_running(&mut self, cpu: usize, main: Option<ViewId>) {
        self.thread_mut(cpu).main = main;
    }

    /// The `main` vCPU `cpu` runs now.
    pub fn running_on(&self, cpu: usize) -> Option<ViewId> {
        self.threads.get(cpu).and_then(|t| t.main)
    }

    /// Counts one VM exit on vCPU `cpu` (and in the world's total).
    #[inline]
    pub fn count_exit_on(&mut self, cpu: usize) {
        self.counters.exits += 1;
        self.thread_mut(cpu).exits += 1;
    }

    /// VM exits so far on vCPU `cpu`.
    pub fn exits_on(&self, cpu: usize) -> u64 {
        self.threads.get(cpu).map_or(0, |t| t.exits)
    }

    /// Whether `view`'s `main` runs on vCPU `cpu` (its manifest `cpu`, 0 by default;
    /// `all`: every vCPU).
    pub fn runs_on(&self, view: ViewId, cpu: usize) -> bool {
        self.manifest
            .compartments
            .get(view.index())
            .is_some_and(|decl| decl.main_on(cpu))
    }

    /// Empties every view's call stack on vCPU `cpu`: a new `main` there starts a new
    /// thread of control (the other vCPUs' threads are not its). A call arriving while a
    /// view is idle starts on its stack top (`state::IDLE_RSP`); the gate normalises
    /// segments to `state::DATA_SELECTOR`.
    pub fn reset_stacks_on(&mut self, cpu: usize) {
        for view in self.ids() {
            self.reset_stack_on(cpu, view);
        }
    }

    /// Thread `cpu`'s call stacks, for containment.
    pub fn on_cpu(&mut self, cpu: usize) -> OnCpu<'_, F, M> {
        OnCpu { world: self, cpu }
    }
}

/// The call stacks of one vCPU's thread: every view's state page on that vCPU (each
/// written only by a view running there).
pub struct OnCpu<'a, F: EntryFormat, M: Memory> {
    world: &'a mut World<F, M>,
    cpu: usize,
}

impl<F: EntryFormat, M: Memory> core::fmt::Debug for OnCpu<'_, F, M> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OnCpu")
            .field("cpu", &self.cpu)
            .finish_non_exhaustive()
    }
}

impl<F: EntryFormat, M: Memory> CallStacks for OnCpu<'_, F, M> {
    fn views(&self) -> usize {
        self.world.views.len()
    }

    fn depth(&self, view: usize) -> usize {
        self.world.depth_on(self.cpu, ViewId(view as u16))
    }

    fn tag(&self, view: usize, index: usize) -> u64 {
        let offset = state::TAGS + 8 * index as u64;
        self.world
            .state_word_on(self.cpu, ViewId(view as u16), offset)
    }

    fn rsp(&self, view: usize, index: usize) -> u64 {
        let offset = state::RSPS + 8 * index as u64;
        self.world
            .state_word_on(self.cpu, ViewId(view as u16), offset)
    }

    fn stopped(&self, view: usize) -> bool {
        self.world.views[view].compartment.stopped()
    }

    fn truncate(&mut self, view: usize, len: usize) {
        let id = ViewId(view as u16);
        self.world
            .set_state_word_on(self.cpu, id, state::DEPTH, len as u64);
    }
}
