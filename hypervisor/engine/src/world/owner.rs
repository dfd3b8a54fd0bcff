//! L1's side of the serial-ownership rule (docs/gates.md "Manifest: `concurrency` and
//! `cpu`"): the shared page's `OWNER` word of a `serial` view is 0 or k+1, the vCPU that
//! has the view on its call chain. The gate claims it for a call into a view with no
//! activation on its vCPU and releases it when that activation returns; L1 claims it for
//! a serial view's `main` before starting it on vCPU k and releases it when the main
//! ends, or when it pops the view's last activation on a vCPU (settle). A restart zeroes
//! the whole shared page (`lifecycle.rs`). Parallel views have no owner: every call here
//! is a no-op for them.
//!
//! `OWNER` is written by the view's gate on other vCPUs at the same time (and by the view
//! itself, which can only make its own callers refused), so L1 changes it only with an
//! atomic compare-and-exchange ([`Memory::compare_exchange_u64`]).

use super::World;
use crate::ids::ViewId;
use crate::port::Memory;
use tessera_abi::gate::shared;
use tessera_core::manifest::Concurrency;
use tessera_core::paging::EntryFormat;

impl<F: EntryFormat, M: Memory> World<F, M> {
    /// Whether `view` is `serial` (manifest `concurrency`, the default).
    pub fn is_serial(&self, view: ViewId) -> bool {
        self.manifest.compartments[view.index()].concurrency == Concurrency::Serial
    }

    /// The `OWNER` word of `view`'s shared page: 0, or k+1 for the vCPU k that owns it.
    pub fn owner(&self, view: ViewId) -> u64 {
        self.mem
            .read_u64(self.view(view).pages.shared.start() + shared::OWNER)
    }

    /// Claims a serial `view` for vCPU `cpu` (before its `main` starts there): sets
    /// `OWNER` = cpu+1 if it is 0, and succeeds if it is cpu+1 already. `false`: another
    /// vCPU owns it (do not start the main yet). A parallel view is always `true` and
    /// its word is left alone.
    pub fn claim_owner(&mut self, view: ViewId, cpu: usize) -> bool {
        if !self.is_serial(view) {
            return true;
        }
        let word = self.view(view).pages.shared.start() + shared::OWNER;
        let me = cpu as u64 + 1;
        match self.mem.compare_exchange_u64(word, 0, me) {
            Ok(_) => true,
            Err(found) => found == me,
        }
    }

    /// Claims a serial `main` for vCPU `cpu` before it starts there
    /// ([`World::claim_owner`]), or takes the word over when no other vCPU runs a thread
    /// (each vCPU's thread between two mains runs nothing): then no gate can have claimed
    /// it (a claim is made by a thread inside a call), so the value is one `view` wrote
    /// itself, or a claim whose thread is over, and waiting for it would stall this
    /// vCPU's other mains on `view`'s word. `false`: another vCPU's running thread may
    /// hold it; retry once it moved on (never waiting while holding the world).
    pub fn claim_main(&mut self, view: ViewId, cpu: usize) -> bool {
        if self.claim_owner(view, cpu) {
            return true;
        }
        let others_idle = (0..self.cpus())
            .filter(|&j| j != cpu)
            .all(|j| self.running_on(j).is_none());
        if !others_idle {
            return false;
        }
        let word = self.view(view).pages.shared.start() + shared::OWNER;
        let found = self.owner(view);
        // Only `view` itself could change it now, and it runs nowhere.
        self.mem
            .compare_exchange_u64(word, found, cpu as u64 + 1)
            .is_ok()
    }

    /// Ends vCPU `cpu`'s thread's hold on every serial view (its `main` is over: none of
    /// its frames can run again): `OWNER` released where it is cpu+1, and the `MAIN`
    /// word of `main` on that vCPU cleared (calls into it there release on return from
    /// now on).
    pub fn end_thread(&mut self, main: ViewId, cpu: usize) {
        for view in self.ids() {
            self.release_owner(view, cpu);
        }
        self.set_info_word_on(cpu, main, tessera_abi::gate::info::MAIN, 0);
    }

    /// After thread `cpu` was repaired: releases every serial view with no frame left on
    /// it that is not its running `main` (docs/gates.md: L1 stores 0 when it pops a view's
    /// last activation on a vCPU).
    pub fn release_idle(&mut self, cpu: usize) {
        let main = self.running_on(cpu);
        for view in self.ids() {
            if self.depth_on(cpu, view) == 0 && main != Some(view) {
                self.release_owner(view, cpu);
            }
        }
    }

    /// Releases a serial `view` held by vCPU `cpu` (its main ended there, or L1 popped its
    /// last activation there): stores 0 if `OWNER` is cpu+1, and leaves another vCPU's
    /// claim alone. A parallel view's word is left alone.
    pub fn release_owner(&mut self, view: ViewId, cpu: usize) {
        if !self.is_serial(view) {
            return;
        }
        let word = self.view(view).pages.shared.start() + shared::OWNER;
        // Err: not ours (0, or another vCPU's claim): nothing to release.
        let _ = self.mem.compare_exchange_u64(word, cpu as u64 + 1, 0);
    }
}
