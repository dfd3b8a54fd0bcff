//! The one interface the run loop needs from a virtualization backend (VMX or SVM),
//! chosen once at boot and dispatched statically (`exec::run_all` is generic over it).

use crate::regs::GuestRegs;
use alloc::string::String;
use tessera_core::exit::VmExit;
use tessera_core::paging::EntryFormat;

/// One decoded exit, with the short name `@@STATS` counts it under.
#[derive(Debug)]
pub struct Exit {
    pub exit: VmExit,
    pub reason: &'static str,
}

/// A backend running one guest context.
pub trait Backend {
    /// The second-level page-table format of its views.
    type Format: EntryFormat + Copy;

    /// Fresh guest state for a compartment's `main`: entry point, stack, view.
    fn start(&mut self, rip: u64, rsp: u64, view: usize, pointer: u64) -> Result<(), String>;
    /// Enters the guest and returns at its next exit.
    fn run(&mut self, regs: &mut GuestRegs) -> Result<Exit, String>;
    /// Guest RIP.
    fn rip(&self) -> u64;
    fn set_rip(&mut self, rip: u64);
    fn set_rsp(&mut self, rsp: u64);
    fn rflags(&self) -> u64;
    fn set_rflags(&mut self, rflags: u64);
    /// Ends STI / MOV-SS blocking (an emulated instruction completed).
    fn clear_interrupt_shadow(&mut self);
    /// The view pointer (EPTP form) loaded now.
    fn current_pointer(&self) -> u64;
    /// Loads view `view` (pointer in EPTP form): the switch itself.
    fn load_view(&mut self, view: usize, pointer: u64);
    /// Records the EPTP-list index an emulated `VMFUNC` switched to, as the CPU does on
    /// its own switches: VMX writes the EPTP-index field where the CPU supports
    /// EPT-violation #VE (only there does the field exist; KVM offers no #VE to its L1);
    /// nothing elsewhere. The current view is always read from the pointer, never this.
    fn set_view_index(&mut self, index: u16);
    /// The EPTP-index field, where it exists (VMX with #VE): what the conformance fixture
    /// reports beside each case.
    fn view_index(&self) -> Option<u16>;
    /// Whether the CPU switches views itself (hardware VMFUNC), without exits, now.
    fn hardware_switching(&self) -> bool;
    /// Turns trapped switching on (VMFUNC raises #UD and L1 emulates it) or back off,
    /// where the CPU has hardware VMFUNC (`tessera_core::watchdog`); a no-op elsewhere.
    fn set_trapped(&mut self, trapped: bool);
    /// The next exit comes at the latest after about `ticks` TSC ticks in the guest.
    fn arm_watchdog(&mut self, ticks: u64);
    /// Clears a pending single-step trap: RFLAGS.TF and the pending debug exceptions
    /// (VMX) or DR6.BS (SVM). Done on a single-step exit, and whenever L1 resumes a view
    /// other than the one that exited (DESIGN §6 property 9).
    fn clear_single_step(&mut self);
}
