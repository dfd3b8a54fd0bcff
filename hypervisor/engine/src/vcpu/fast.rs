//! The emulated switch's fast path (docs/benchmarks.md "The emulated switch"): the
//! backend offers each `VMFUNC` #UD at the executing view's own slot before returning
//! it ([`Guest::fast_switch`]); core decides (`tessera_core::vmfunc::fast_switch`, with
//! the watchdog untrapped), and a switch it takes is counted here as the general path
//! ([`super::vmfunc`]) counts it — nothing else of the run loop runs for it.

use crate::backend::{Code, Guest, OwnSlotUd};
use crate::guest::ViewCode;
use crate::ids::ViewId;
use crate::world::Hold;
use tessera_core::exit::Access;
use tessera_core::vmfunc;
use tessera_core::watchdog::Watchdog;

/// What a vCPU lends its backend for one entry: which vCPU it is (whose EPTP list and
/// roots), the world (instruction bytes, the EPTP lists, the counters: on SMP behind
/// the lock, taken for each fetch or decision only), the memo of accepted entries and
/// the watchdog.
pub(super) struct Lent<'a, W: Hold> {
    pub(super) cpu: usize,
    pub(super) world: &'a mut W,
    pub(super) accepted: &'a [u64; 512],
    pub(super) dog: &'a Watchdog,
}

impl<W: Hold> Code for Lent<'_, W>
where
    W::Format: Copy,
{
    fn fetch(&self, view: ViewId, at: u64) -> Result<u8, Access> {
        self.world.read(|w| ViewCode(w).fetch(view, at))
    }

    fn fetch_root(&self, root: u64, at: u64) -> Result<u8, Access> {
        self.world.read(|w| ViewCode(w).fetch_root(root, at))
    }
}

impl<W: Hold> Guest for Lent<'_, W>
where
    W::Format: Copy,
{
    #[inline(always)]
    fn fast_switch(&mut self, ud: &OwnSlotUd<'_>) -> Option<(ViewId, u64)> {
        // Untrapped: the watchdog charges nothing now, and the timer goes on for the rest
        // of its period (`Watchdog::untrapped_for` is `timer` there).
        let remaining = self.dog.untrapped_for(ud.now)?;
        let (cpu, accepted) = (self.cpu, self.accepted);
        let index = self.world.with(|world| decide(world, cpu, accepted, ud))?;
        Some((ViewId(index), remaining))
    }
}

/// The fast path's decision and count on `world` (held for it): the target slot.
#[inline(always)]
fn decide<F: tessera_core::paging::EntryFormat, M: crate::port::Memory>(
    world: &mut crate::world::World<F, M>,
    cpu: usize,
    accepted: &[u64; 512],
    ud: &OwnSlotUd<'_>,
) -> Option<u16> {
    if ud.view.index() >= world.views.len() {
        return None;
    }
    let fast = vmfunc::Fast {
        rip: ud.rip,
        view: u64::from(ud.view.0),
        rax: ud.gprs.rax,
        rcx: ud.gprs.rcx,
        list: world.list(cpu),
        accepted,
        shadow: ud.shadow,
        rflags: ud.rflags,
        untrapped: true,
    };
    let (index, eptp) = vmfunc::fast_switch(&fast)?;
    // Slot `i` of this vCPU's list holds view `i`'s root for this vCPU
    // (`World::at_slot`'s usual case, which is all the fast path takes).
    if world.views.get(usize::from(index)).map(|v| v.pointer(cpu)) != Some(eptp) {
        return None;
    }
    world.count_exit_on(cpu);
    world.counters.emulated_switches += 1;
    world.view_mut(ud.view).stats.count_exit(ud.reason);
    Some(index)
}
