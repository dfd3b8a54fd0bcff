//! The `Backend` port: one vCPU of one vendor (VMX or SVM in the kernel, a script in
//! [`crate::fake`]). It enters the guest and returns each exit already decoded into
//! core's common [`VmExit`] — each backend normalises its own quirks (on AMD VMCALL and
//! ICEBP raise #UD, INTn arrives without its vector, instruction lengths may be missing),
//! fetching instruction bytes through the [`Code`] the engine lends it — and it switches
//! views by [`ViewId`]; what a view is to the CPU (an EPT pointer, an nCR3 and ASID) is
//! its business.
//!
//! Guest state: the general registers travel with every entry and exit (the entry code
//! loads and stores them anyway); RIP, RSP and RFLAGS live in the VMCS/VMCB, so
//! [`GuestState`] caches them: the engine reads one only when it needs it
//! ([`Backend::save`]) and [`Backend::run`] writes back only what the engine changed.
//! The emulated switch, the hot path where the CPU has no VMFUNC, needs RIP alone.

use crate::ids::ViewId;
use alloc::string::String;
use bitflags::bitflags;
use tessera_core::exit::{Access, VmExit};
use tessera_core::paging::EntryFormat;
use tessera_core::rflags::Rflags;

/// The guest's general registers. The field order is the layout the kernel's entry code
/// uses (it checks the offsets at compile time).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Gprs {
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rbp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
}

bitflags! {
    /// The guest registers that live in the VMCS/VMCB rather than in [`Gprs`].
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub struct Fields: u8 {
        const RIP = 1 << 0;
        const RSP = 1 << 1;
        const RFLAGS = 1 << 2;
    }
}

/// The guest's registers as the engine sees them: the general registers, and RIP, RSP
/// and RFLAGS cached from the backend (valid once saved, dirty once changed).
#[derive(Debug, Default, Clone)]
pub struct GuestState {
    /// The general registers, current after every exit.
    pub gprs: Gprs,
    rip: u64,
    rsp: u64,
    rflags: u64,
    valid: Fields,
    dirty: Fields,
}

impl GuestState {
    /// The value of `field` if it is cached (one field).
    pub fn cached(&self, field: Fields) -> Option<u64> {
        self.valid.contains(field).then_some(match field {
            Fields::RIP => self.rip,
            Fields::RSP => self.rsp,
            _ => self.rflags,
        })
    }

    /// Sets `field` (one field): cached, and written to the CPU before the next entry.
    pub fn set(&mut self, field: Fields, value: u64) {
        self.store(field, value);
        self.dirty |= field;
    }

    /// Backend side: `value` is what the CPU holds for `field` now.
    pub fn store(&mut self, field: Fields, value: u64) {
        match field {
            Fields::RIP => self.rip = value,
            Fields::RSP => self.rsp = value,
            _ => self.rflags = value,
        }
        self.valid |= field;
    }

    /// Backend side: the fields the engine changed, with their values, to write before
    /// entering; they are clean afterwards. RFLAGS always goes in with IF = 1, on every
    /// vendor: L1 takes interrupts by exiting, so the guest's IF blocks nothing, but
    /// Bochs computes its interrupt mask from the guest's IF (VMX and SVM alike), so a
    /// guest entered with IF = 0 would never see the watchdog timer there (nor, under KVM
    /// in Bochs, would L0 see its own).
    #[inline]
    pub fn take_dirty(&mut self) -> Dirty {
        let dirty = core::mem::take(&mut self.dirty);
        let rflags = Rflags::from_bits_retain(self.rflags) | Rflags::IF;
        Dirty {
            rip: dirty.contains(Fields::RIP).then_some(self.rip),
            rsp: dirty.contains(Fields::RSP).then_some(self.rsp),
            rflags: dirty.contains(Fields::RFLAGS).then_some(rflags.bits()),
        }
    }

    /// Backend side: the guest ran; nothing cached is current any more (except what the
    /// backend stores again).
    pub fn entered(&mut self) {
        self.valid = Fields::empty();
        self.dirty = Fields::empty();
    }

    /// Whether nothing waits to be written to the CPU.
    pub fn is_clean(&self) -> bool {
        self.dirty.is_empty()
    }
}

/// What the engine changed since the last entry ([`GuestState::take_dirty`]): each field
/// to write before entering, `None` for the ones to leave as the CPU has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Dirty {
    pub rip: Option<u64>,
    pub rsp: Option<u64>,
    pub rflags: Option<u64>,
}

impl Dirty {
    /// The fields to write, in the order RIP, RSP, RFLAGS.
    pub fn iter(self) -> impl Iterator<Item = (Fields, u64)> {
        [
            (Fields::RIP, self.rip),
            (Fields::RSP, self.rsp),
            (Fields::RFLAGS, self.rflags),
        ]
        .into_iter()
        .filter_map(|(field, value)| Some((field, value?)))
    }
}

/// One decoded exit, with the short name `@@STATS` counts it under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    pub exit: VmExit,
    pub reason: &'static str,
}

/// Instruction bytes as the CPU fetches them: what the engine lends a backend so it can
/// decode an exit (the SVM #UD of VMCALL, an INTn, a missing instruction length).
pub trait Code {
    /// The byte at guest address `at` as the CPU would fetch it in `view`, or, if the view
    /// does not let the CPU fetch it, what the view allows there (the fetch's EPT
    /// violation / NPF).
    fn fetch(&self, view: ViewId, at: u64) -> Result<u8, Access>;
    /// [`Code::fetch`] through the second-level tables rooted at host-physical `root`,
    /// tables L1 built that are no view's own (the conformance fixture's aliases): the
    /// walk and the byte are memory reads only, through the memory port, which refuses
    /// every address outside L1's memory.
    fn fetch_root(&self, root: u64, at: u64) -> Result<u8, Access>;
}

/// A `VMFUNC` at the executing view's own slot that raised #UD, as a backend finds it
/// (with the state the emulated switch's fast path decides from) before it returns the
/// exit: [`Guest::fast_switch`].
#[derive(Debug, Clone, Copy)]
pub struct OwnSlotUd<'a> {
    /// The view the CPU executes (it fetched the instruction through its own tables).
    pub view: ViewId,
    /// RIP, the start of `view`'s own slot.
    pub rip: u64,
    /// The instruction's length.
    pub len: u64,
    /// The general registers at the exit.
    pub gprs: &'a Gprs,
    /// STI / MOV-SS blocking in effect.
    pub shadow: bool,
    /// Guest RFLAGS.
    pub rflags: u64,
    /// The TSC at the exit.
    pub now: u64,
    /// The short reason `@@STATS` counts the exit under.
    pub reason: &'static str,
}

/// What the engine lends [`Backend::run`]: instruction bytes ([`Code`]), and the decision
/// of the emulated switch's fast path.
pub trait Guest: Code {
    /// The emulated switch's common case (`tessera_core::vmfunc::fast_switch`, decided by
    /// the engine): `Some((target, ticks))` if the switch is made and counted — the
    /// backend then loads `target` as [`Backend::switch_to`] does, sets RIP past the
    /// instruction, arms its timer for `ticks` as [`Backend::arm_watchdog`] does, and
    /// enters the guest again without returning the exit. `None`: it returns the exit
    /// (`VmExit::VmFuncUd`) as usual, nothing changed.
    fn fast_switch(&mut self, ud: &OwnSlotUd<'_>) -> Option<(ViewId, u64)>;
}

/// A [`Guest`] that takes no fast path: every exit is returned (the conformance fixture
/// hands its backend this, it answers every `VMFUNC` itself).
pub struct NoFastPath<'a>(pub &'a dyn Code);

impl core::fmt::Debug for NoFastPath<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("NoFastPath")
    }
}

impl Code for NoFastPath<'_> {
    fn fetch(&self, view: ViewId, at: u64) -> Result<u8, Access> {
        self.0.fetch(view, at)
    }

    fn fetch_root(&self, root: u64, at: u64) -> Result<u8, Access> {
        self.0.fetch_root(root, at)
    }
}

impl Guest for NoFastPath<'_> {
    fn fast_switch(&mut self, _: &OwnSlotUd<'_>) -> Option<(ViewId, u64)> {
        None
    }
}

/// The second-level tables the CPU fetches through now: what a backend decodes an
/// exit's instruction through. Normally a view's own; the conformance fixture also makes
/// the CPU load other roots L1 built (clones of its view, tables that map nothing, …),
/// and an instruction fetched there must be decoded from there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loaded {
    /// The tables of this view.
    View(ViewId),
    /// The tables rooted at this host-physical address (the root of an EPTP-form pointer
    /// that is no view's).
    Root(u64),
}

impl Loaded {
    /// What the CPU loaded, from the pointer (EPTP form) it holds and each view's own.
    #[inline]
    pub fn of(pointer: u64, views: &[u64]) -> Loaded {
        match views.iter().position(|p| *p == pointer) {
            Some(i) => Loaded::View(ViewId(i as u16)),
            None => Loaded::Root(tessera_core::paging::Eptp::from_bits(pointer).root()),
        }
    }

    /// The byte at guest address `at` as the CPU would fetch it through these tables
    /// ([`Code::fetch`]).
    #[inline]
    pub fn fetch(self, code: &dyn Code, at: u64) -> Result<u8, Access> {
        match self {
            Loaded::View(view) => code.fetch(view, at),
            Loaded::Root(root) => code.fetch_root(root, at),
        }
    }
}

/// One vCPU of one vendor.
pub trait Backend {
    /// The second-level page-table format its views are built in.
    type Format: EntryFormat + Copy;

    /// Fresh guest state for a compartment's `main` in `view`: the fixed L2 environment
    /// (segments, control registers), RFLAGS = 0x202, nothing pending. The engine then
    /// sets RIP and RSP.
    ///
    /// # Errors
    /// The CPU refused the state (an L1 bug; the boot fails).
    fn reset(&mut self, view: ViewId, state: &mut GuestState) -> Result<(), String>;
    /// Enters the guest and returns at its next exit: writes the fields the engine
    /// changed first, and on return leaves the general registers in `state` (RIP, RSP and
    /// RFLAGS only as far as it stored them). `guest` fetches instruction bytes for the
    /// backend's own decoding, and decides the emulated switch's fast path: a `VMFUNC`
    /// #UD at the executing view's own slot, where the CPU does not switch views itself,
    /// is offered to [`Guest::fast_switch`] first, and one it makes is not returned.
    ///
    /// # Errors
    /// The entry itself failed (an L1 bug; the boot fails).
    fn run<G: Guest>(&mut self, state: &mut GuestState, guest: &mut G) -> Result<Exit, String>;
    /// Reads `fields` from the CPU into `state`.
    fn save(&mut self, state: &mut GuestState, fields: Fields);
    /// Makes `view` the one the guest runs in from its next entry.
    fn switch_to(&mut self, view: ViewId);
    /// The view the CPU is in now (after a hardware VMFUNC, the one it switched to).
    fn current_view(&self) -> ViewId;
    /// Whether the CPU switches views itself (hardware VMFUNC), without exits, now.
    fn hardware_switching(&self) -> bool;
    /// Turns trapped switching on (VMFUNC raises #UD and the engine emulates it) or back
    /// off, where the CPU has hardware VMFUNC (`tessera_core::watchdog`); a no-op elsewhere.
    fn set_trapped(&mut self, trapped: bool);
    /// The next exit comes at the latest after about `ticks` TSC ticks in the guest.
    fn arm_watchdog(&mut self, ticks: u64);
    /// Whether STI or MOV-SS blocking is in effect (the emulated switch's fast path takes
    /// only an instruction without it).
    fn interrupt_shadow(&self) -> bool;
    /// Ends STI / MOV-SS blocking (an emulated instruction completed).
    fn clear_interrupt_shadow(&mut self);
    /// Clears a pending single-step trap: RFLAGS.TF and the pending debug exceptions
    /// (VMX) or DR6.BS (SVM). Done on a single-step exit, and whenever the engine resumes
    /// a view other than the one that exited (DESIGN §6 property 9).
    fn clear_single_step(&mut self, state: &mut GuestState);
    /// The time-stamp counter.
    fn now(&self) -> u64;
    /// Which vCPU this is (0-based): whose EPTP list and per-vCPU pages it switches
    /// among (docs/gates.md "Per-vCPU views"); the kernel runs vCPU k on CPU k.
    fn vcpu(&self) -> usize {
        0
    }
    /// CPUID of the host CPU (what compartments see is filtered by core).
    fn host_cpuid(&self, leaf: u32, subleaf: u32) -> [u32; 4];
    /// Makes vCPU `cpu` (another CPU's) exit soon, whatever its guest does: the stop
    /// barrier (docs/gates.md "Faults, stops and restarts across vCPUs"). The kernel
    /// sends an NMI, which VMX "NMI exiting" and the SVM NMI intercept turn into an exit
    /// whatever the guest's IF, and which a CPU in L1 remembers for its next entry. The
    /// exit itself stops nobody. Without it (one vCPU, the fake backend) nothing happens.
    fn kick(&mut self, cpu: usize) {
        let _ = cpu;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rflags_enters_with_if_set_and_only_dirty_fields_are_written() {
        let mut state = GuestState::default();
        state.set(Fields::RFLAGS, 0x2 | 0x100);
        state.set(Fields::RIP, 0x1000);
        let written: alloc::vec::Vec<_> = state.take_dirty().iter().collect();
        assert_eq!(written, [(Fields::RIP, 0x1000), (Fields::RFLAGS, 0x302)]);
        assert!(state.is_clean());
        // What the engine cached is what it set: IF is added on the way in only.
        assert_eq!(state.cached(Fields::RFLAGS), Some(0x102));
    }
}
