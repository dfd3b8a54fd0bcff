//! The emulated switch's fast path (docs/benchmarks.md "The emulated switch"): the
//! backend offers each `VMFUNC` #UD at the executing view's own slot before returning
//! it ([`Guest::fast_switch`]); core decides (`tessera_core::vmfunc::fast_switch`, with
//! the watchdog untrapped), and a switch it takes is counted here as the general path
//! ([`super::vmfunc`]) counts it — nothing else of the run loop runs for it.

use crate::backend::{Code, Guest, OwnSlotUd};
use crate::guest::ViewCode;
use crate::ids::ViewId;
use crate::port::Memory;
use crate::world::World;
use tessera_core::exit::Access;
use tessera_core::paging::EntryFormat;
use tessera_core::vmfunc;
use tessera_core::watchdog::Watchdog;

/// What a vCPU lends its backend for one entry: which vCPU it is (whose EPTP list and
/// roots), the world (instruction bytes, the EPTP lists, the counters), the memo of
/// accepted entries and the watchdog.
pub(super) struct Lent<'a, F: EntryFormat, M: Memory> {
    pub(super) cpu: usize,
    pub(super) world: &'a mut World<F, M>,
    pub(super) accepted: &'a [u64; 512],
    pub(super) dog: &'a Watchdog,
}

impl<F: EntryFormat + Copy, M: Memory> Code for Lent<'_, F, M> {
    fn fetch(&self, view: ViewId, at: u64) -> Result<u8, Access> {
        ViewCode(self.world).fetch(view, at)
    }

    fn fetch_root(&self, root: u64, at: u64) -> Result<u8, Access> {
        ViewCode(self.world).fetch_root(root, at)
    }
}

impl<F: EntryFormat + Copy, M: Memory> Guest for Lent<'_, F, M> {
    #[inline]
    fn fast_switch(&mut self, ud: &OwnSlotUd<'_>) -> Option<(ViewId, u64)> {
        // Untrapped: the watchdog charges nothing now, and the timer goes on for the rest
        // of its period (`Watchdog::untrapped_for` is `timer` there).
        let remaining = self.dog.untrapped_for(ud.now)?;
        let world = &mut *self.world;
        if ud.view.index() >= world.views.len() {
            return None;
        }
        let fast = vmfunc::Fast {
            rip: ud.rip,
            view: u64::from(ud.view.0),
            rax: ud.gprs.rax,
            rcx: ud.gprs.rcx,
            list: world.list(self.cpu),
            accepted: self.accepted,
            shadow: ud.shadow,
            rflags: ud.rflags,
            untrapped: true,
        };
        let (index, eptp) = vmfunc::fast_switch(&fast)?;
        // Slot `i` of this vCPU's list holds view `i`'s root for this vCPU
        // (`World::at_slot`'s usual case, which is all the fast path takes).
        if world
            .views
            .get(usize::from(index))
            .map(|v| v.pointer(self.cpu))
            != Some(eptp)
        {
            return None;
        }
        world.counters.exits += 1;
        world.counters.emulated_switches += 1;
        world.view_mut(ud.view).stats.count_exit(ud.reason);
        Some((ViewId(index), remaining))
    }
}
