//! One scripted run of the fake guest ([`Step`]), what [`super::backend::FakeCpu`] replays.

use crate::backend::Gprs;
use crate::ids::ViewId;
use alloc::boxed::Box;
use tessera_core::exit::VmExit;

/// The guest's registers a step may change.
pub type Regs = Box<dyn FnOnce(&mut Gprs)>;

/// One scripted run of the guest, ending in one exit.
pub struct Step {
    /// The exit (for `Exception { vector: 6 }` with `decode`, the #UD the backend then
    /// decodes through the engine's [`Code`], as the real backends do).
    pub exit: VmExit,
    /// The short reason `@@STATS` counts it under.
    pub reason: &'static str,
    /// Where RIP is at the exit (unchanged if `None`).
    pub rip: Option<u64>,
    /// A hardware switch the guest made before the exit.
    pub view: Option<ViewId>,
    /// A hardware `VMFUNC` to a pointer (EPTP form) that is no view's own (the
    /// conformance fixture's aliases), and the list index it came from, made before the
    /// exit.
    pub pointer: Option<(u64, u16)>,
    /// TSC ticks the guest ran.
    pub ticks: u64,
    /// What the guest left in its registers.
    pub regs: Option<Regs>,
    /// Decode a #UD as the real backends do.
    pub decode: bool,
    /// STI / MOV-SS blocking in effect at the exit.
    pub shadow: bool,
}

impl core::fmt::Debug for Step {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Step")
            .field("exit", &self.exit)
            .field("rip", &self.rip)
            .field("view", &self.view)
            .finish_non_exhaustive()
    }
}

impl Step {
    /// The guest ran 100 ticks and exited with `exit` where it was.
    pub fn exit(exit: VmExit) -> Self {
        Step {
            exit,
            reason: "scripted",
            rip: None,
            view: None,
            pointer: None,
            ticks: 100,
            regs: None,
            decode: false,
            shadow: false,
        }
    }

    /// A #UD the backend decodes from the bytes at RIP.
    pub fn ud() -> Self {
        Step {
            decode: true,
            ..Self::exit(VmExit::Exception {
                vector: 6,
                error_code: None,
            })
        }
    }

    /// Counted under `reason`.
    pub fn reason(mut self, reason: &'static str) -> Self {
        self.reason = reason;
        self
    }

    /// At RIP `rip`.
    pub fn at(mut self, rip: u64) -> Self {
        self.rip = Some(rip);
        self
    }

    /// After a hardware switch to `view`.
    pub fn in_view(mut self, view: ViewId) -> Self {
        self.view = Some(view);
        self
    }

    /// After a hardware `VMFUNC` to list entry `index`, `pointer`, which is no view's
    /// own (an alias).
    pub fn in_alias(mut self, pointer: u64, index: u16) -> Self {
        self.pointer = Some((pointer, index));
        self
    }

    /// After `ticks` TSC ticks.
    pub fn after(mut self, ticks: u64) -> Self {
        self.ticks = ticks;
        self
    }

    /// With STI / MOV-SS blocking in effect at the exit.
    pub fn shadow(mut self) -> Self {
        self.shadow = true;
        self
    }

    /// With registers the guest set.
    pub fn regs(mut self, regs: impl FnOnce(&mut Gprs) + 'static) -> Self {
        self.regs = Some(Box::new(regs));
        self
    }
}
