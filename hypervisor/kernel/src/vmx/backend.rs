//! The VMX backend behind [`Backend`]: a VMCS, VM entries with the preemption-timer
//! watchdog, exits decoded by core.

use super::instr::{vmread, vmwrite};
use super::run::enter;
use super::vmcs::Vmcs;
use crate::backend::{Backend, Exit};
use crate::regs::GuestRegs;
use alloc::string::String;
use tessera_core::caps::VmxCaps;
use tessera_core::paging::Ept;
use tessera_core::rflags::Rflags;
use tessera_core::vmx::controls::SecondaryControls;
use tessera_core::vmx::exit::{RawExit, decode, reason_name};
use tessera_core::vmx::fields;

/// One vCPU on VMX.
#[derive(Debug)]
pub struct VmxCpu {
    pub vmcs: Vmcs,
    pub caps: VmxCaps,
    /// The secondary controls with "enable VM functions" set, when the CPU switches views
    /// itself (hardware VMFUNC in use); `None` on the emulated path.
    pub vm_functions: Option<SecondaryControls>,
    /// "Enable VM functions" is on now (not trapped): the CPU switches views itself.
    pub hardware: bool,
    /// Preemption-timer value for the next entry (TSC ticks >> the timer rate).
    pub timer: u64,
    /// The first VMREAD/VMWRITE that failed since the last run (reported by `run`).
    pub failed: core::cell::Cell<Option<(&'static str, u32, super::instr::VmFail)>>,
}

impl VmxCpu {
    /// Reads a guest-state or exit field; a failure is latched and fails the next run.
    fn read(&self, field: u32) -> u64 {
        vmread(field).unwrap_or_else(|e| {
            self.latch("vmread", field, e);
            0
        })
    }

    /// Writes a field; a failure is latched and fails the next run.
    fn write(&self, field: u32, value: u64) {
        // SAFETY: the run loop writes only guest RIP/RSP/RFLAGS, the interruptibility
        // state, pending debug exceptions, the preemption timer, the secondary controls
        // (VM functions on/off), the EPT pointer of a view L1 built and the EPTP index
        // (where it exists); none of them give the guest access to L1 memory.
        if let Err(e) = unsafe { vmwrite(field, value) } {
            self.latch("vmwrite", field, e);
        }
    }

    fn latch(&self, what: &'static str, field: u32, error: super::instr::VmFail) {
        if self.failed.get().is_none() {
            self.failed.set(Some((what, field, error)));
        }
    }
}

impl Backend for VmxCpu {
    type Format = Ept;

    fn start(&mut self, rip: u64, rsp: u64, _view: usize, pointer: u64) -> Result<(), String> {
        self.vmcs
            .start_guest(&self.caps, rip, rsp, pointer)
            .map_err(|e| alloc::format!("vmcs-guest-state-failed error={e}"))?;
        super::instr::invept_all().map_err(|e| alloc::format!("invept-failed error={e}"))
    }

    fn run(&mut self, regs: &mut GuestRegs) -> Result<Exit, String> {
        self.write(fields::PREEMPTION_TIMER_VALUE, self.timer);
        if let Some((what, field, error)) = self.failed.take() {
            return Err(alloc::format!(
                "{what}-failed field={field:#x} error={error}"
            ));
        }
        // SAFETY: the VMCS holds this kernel's host state and a guest confined to views L1
        // built; `launched` is tracked here.
        unsafe { enter(regs, self.vmcs.launched) }
            .map_err(|e| alloc::format!("vm-entry-instruction-failed error={e}"))?;
        self.vmcs.launched = true;
        let raw = RawExit {
            reason: self.read(fields::EXIT_REASON) as u32,
            qualification: self.read(fields::EXIT_QUALIFICATION),
            interruption_info: self.read(fields::EXIT_INTERRUPTION_INFO) as u32,
            interruption_error: self.read(fields::EXIT_INTERRUPTION_ERROR_CODE) as u32,
            instruction_len: self.read(fields::EXIT_INSTRUCTION_LENGTH),
            guest_physical: self.read(fields::GUEST_PHYSICAL_ADDRESS),
            rcx: regs.rcx,
        };
        Ok(Exit {
            exit: decode(&raw),
            reason: reason_name(raw.reason & 0xFFFF),
        })
    }

    fn rip(&self) -> u64 {
        self.read(fields::GUEST_RIP)
    }

    fn set_rip(&mut self, rip: u64) {
        self.write(fields::GUEST_RIP, rip);
    }

    fn set_rsp(&mut self, rsp: u64) {
        self.write(fields::GUEST_RSP, rsp);
    }

    fn rflags(&self) -> u64 {
        self.read(fields::GUEST_RFLAGS)
    }

    fn set_rflags(&mut self, rflags: u64) {
        // Keep IF=1 (see `Vmcs::start_guest`): harmless with external-interrupt
        // exiting, and what lets KVM's L0 run while a compartment loops on Bochs.
        let rflags = Rflags::from_bits_retain(rflags) | Rflags::IF;
        self.write(fields::GUEST_RFLAGS, rflags.bits());
    }

    fn clear_interrupt_shadow(&mut self) {
        // Bits 0 and 1: blocking by STI and by MOV SS (SDM 3C §25.4.2, Table 25-3).
        self.write(
            fields::GUEST_INTERRUPTIBILITY,
            self.read(fields::GUEST_INTERRUPTIBILITY) & !3,
        );
    }

    fn current_pointer(&self) -> u64 {
        // KVM does not maintain the EPTP-index field for L1 (VMFUNC-SEMANTICS.md): the EPT
        // pointer itself says which view runs.
        self.read(fields::EPT_POINTER)
    }

    fn load_view(&mut self, _view: usize, pointer: u64) {
        self.write(fields::EPT_POINTER, pointer);
    }

    fn set_view_index(&mut self, index: u16) {
        // SDM 2B "VMFUNC", EPTP switching: "if the processor supports the 1-setting of
        // the 'EPT-violation #VE' VM-execution control, EPTP-index ← ECX[15:0]"; SDM 3C
        // §25.6.19: the field exists only on such processors.
        if self.caps.ve {
            self.write(fields::EPTP_INDEX, index.into());
        }
    }

    fn view_index(&self) -> Option<u16> {
        self.caps.ve.then(|| self.read(fields::EPTP_INDEX) as u16)
    }

    fn hardware_switching(&self) -> bool {
        self.hardware
    }

    fn set_trapped(&mut self, trapped: bool) {
        let Some(secondary) = self.vm_functions else {
            return;
        };
        // Without "enable VM functions" VMFUNC raises #UD (SDM 2B VMFUNC; the exception
        // bitmap makes it exit), and L1 emulates it with the same rules.
        let value = if trapped {
            secondary.difference(SecondaryControls::ENABLE_VM_FUNCTIONS)
        } else {
            secondary
        };
        self.write(fields::SECONDARY_PROC_CONTROLS, value.bits().into());
        self.hardware = !trapped;
    }

    fn arm_watchdog(&mut self, ticks: u64) {
        // The field is 32 bits wide and counts down at TSC >> rate (SDM 3C §26.5.1).
        self.timer = (ticks >> self.caps.preemption_timer_rate).clamp(1, u32::MAX.into());
    }

    fn clear_single_step(&mut self) {
        let rflags = Rflags::from_bits_retain(self.read(fields::GUEST_RFLAGS));
        self.write(fields::GUEST_RFLAGS, rflags.difference(Rflags::TF).bits());
        // Pending debug exceptions (SDM 3C §25.4.2): BS and friends of a trap that MOV SS
        // or STI blocking deferred; it would fire in whichever view runs next.
        self.write(fields::GUEST_PENDING_DEBUG, 0);
    }
}
