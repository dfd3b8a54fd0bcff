//! The emulated switch's common case, decided before the general path (docs/benchmarks.md
//! "The emulated switch"): a gate's `VMFUNC` at the executing view's own slot, EAX = 0,
//! ECX a list slot whose entry the last switch through it already accepted, nothing for
//! L1 to clear (no STI / MOV-SS blocking, RFLAGS.TF clear) and the watchdog not counting
//! switches (its untrapped phase, `crate::watchdog::Watchdog::untrapped_at`). Then the
//! switch is exactly what the CPU's own `VMFUNC` does — EPTP ← the entry, RIP += the
//! length — and L1 does nothing else; anything else goes the general way, unchanged.
//!
//! Why nothing else is needed, per check of the general path:
//! - own slot (DESIGN §6 property 2): `rip` is L1's `VMFUNC` at the view's own slot,
//!   [`crate::protocol::emulated_switch_allowed`] without the fixture's exemption;
//! - outcome: EAX = 0 with the VM-function control of EPTP switching set (L1 always sets
//!   it) and ECX < 512 leave only the entry's validity, which [`super::execute_known`]
//!   skips for the entry it accepted before, so the outcome is [`super::execute`]'s
//!   `Switch` (tested: `tests/vmfunc_props.rs`);
//! - debug state (property 9): with RFLAGS.TF clear no single-step trap follows the
//!   instruction, and without MOV-SS blocking a #UD exit saves the pending debug
//!   exceptions as clear (SDM 3C §28.3.4; on SVM DR6 is not readable by the guest, every
//!   DR access is intercepted): nothing of the source's reaches the target;
//! - interrupt shadow: none to end;
//! - watchdog: in its untrapped phase no switch is charged, as on hardware VMFUNC.

use crate::protocol::emulated_switch_allowed;
use crate::rflags::Rflags;

/// What the fast path decides from.
#[derive(Debug, Clone, Copy)]
pub struct Fast<'a> {
    /// Guest RIP at the #UD.
    pub rip: u64,
    /// The executing view (its own slot is the only one it may switch from).
    pub view: u64,
    /// RAX and RCX (only EAX and ECX count).
    pub rax: u64,
    pub rcx: u64,
    /// The EPTP list.
    pub list: &'a [u64; 512],
    /// Each slot's entry the last emulated switch through it accepted (0: none).
    pub accepted: &'a [u64; 512],
    /// STI or MOV-SS blocking in effect.
    pub shadow: bool,
    /// Guest RFLAGS.
    pub rflags: u64,
    /// The watchdog does not count switches now.
    pub untrapped: bool,
}

/// The switch, if the fast path may make it: the list slot and its entry (EPTP ← entry,
/// EPTP index ← slot, RIP += the instruction's length). `None`: the general path.
#[inline]
pub fn fast_switch(f: &Fast<'_>) -> Option<(u16, u64)> {
    if !f.untrapped || f.shadow || f.rflags & Rflags::TF.bits() != 0 {
        return None;
    }
    if !emulated_switch_allowed(f.rip, f.view, false) || f.rax as u32 != 0 {
        return None;
    }
    let slot = f.rcx as u32;
    let entry = *f.list.get(slot as usize)?;
    (entry != 0 && entry == f.accepted[slot as usize]).then_some((slot as u16, entry))
}
