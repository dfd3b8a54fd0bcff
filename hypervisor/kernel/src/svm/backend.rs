//! The SVM backend behind [`Backend`].

use super::vmcb::Vmcb;
use crate::backend::{Backend, Exit};
use crate::regs::GuestRegs;
use alloc::string::String;
use alloc::vec::Vec;
use tessera_core::paging::Npt;
use tessera_core::rflags::Rflags;
use tessera_core::svm::exit::{RawExit, decode, reason_name};
use tessera_core::svm::vmcb::{control, state};

/// One vCPU on SVM.
#[derive(Debug)]
pub struct SvmCpu {
    pub vmcb: Vmcb,
    /// Each view's own pointer (EPTP form; its address is the view's nCR3).
    pub pointers: Vec<u64>,
    pub asid_per_view: bool,
    /// The view and pointer loaded now.
    pub current: (usize, u64),
    /// Flush the TLB on the next VMRUN.
    pub flush: bool,
    /// The local-APIC timer against the TSC.
    pub rate: crate::lapic::Rate,
    /// Local-APIC timer count for the next VMRUN.
    pub watchdog: u32,
}

impl Backend for SvmCpu {
    type Format = Npt;

    fn start(&mut self, rip: u64, rsp: u64, view: usize, pointer: u64) -> Result<(), String> {
        super::write_guest_state(&self.vmcb, rip, rsp);
        self.load_view(view, pointer);
        self.flush = true;
        Ok(())
    }

    fn run(&mut self, regs: &mut GuestRegs) -> Result<Exit, String> {
        let v = &self.vmcb;
        v.set::<u64>(state::RAX, regs.rax);
        v.set::<u8>(control::TLB_CONTROL, u8::from(self.flush));
        self.flush = false;
        crate::lapic::arm(self.watchdog);
        // SAFETY: the VMCB intercepts every sensitive instruction, runs on nested page
        // tables L1 built, with a non-zero ASID; SVME and VM_HSAVE_PA were set up.
        unsafe { super::run::vmrun(regs, v.pa) };
        crate::lapic::arm(0);
        regs.rax = v.get::<u64>(state::RAX);
        let raw = RawExit {
            code: v.get::<u64>(control::EXIT_CODE),
            info1: v.get::<u64>(control::EXIT_INFO1),
            info2: v.get::<u64>(control::EXIT_INFO2),
            rcx: regs.rcx,
        };
        log::trace!(
            "svm exit {:#x} info1 {:#x} info2 {:#x}",
            raw.code,
            raw.info1,
            raw.info2
        );
        let mut exit = decode(&raw);
        if exit == tessera_core::exit::VmExit::Interrupt && crate::lapic::take_pending() {
            exit = tessera_core::exit::VmExit::Watchdog;
        }
        let reason = if exit_is_watchdog(&exit) {
            "watchdog"
        } else {
            reason_name(raw.code)
        };
        Ok(Exit { exit, reason })
    }

    fn rip(&self) -> u64 {
        self.vmcb.get(state::RIP)
    }

    fn set_rip(&mut self, rip: u64) {
        self.vmcb.set(state::RIP, rip);
    }

    fn set_rsp(&mut self, rsp: u64) {
        self.vmcb.set(state::RSP, rsp);
    }

    fn rflags(&self) -> u64 {
        self.vmcb.get(state::RFLAGS)
    }

    fn set_rflags(&mut self, rflags: u64) {
        // Keep IF=1: with V_INTR_MASKING the guest's IF only gates virtual interrupts (none
        // are injected), but Bochs 2.7 also masks physical interrupts by the guest's IF,
        // and the watchdog timer is one (see `write_guest_state`).
        let rflags = Rflags::from_bits_retain(rflags) | Rflags::IF;
        self.vmcb.set(state::RFLAGS, rflags.bits());
    }

    fn clear_interrupt_shadow(&mut self) {
        self.vmcb.set::<u64>(control::INTERRUPT_SHADOW, 0);
    }

    fn current_pointer(&self) -> u64 {
        self.current.1
    }

    fn load_view(&mut self, view: usize, pointer: u64) {
        self.vmcb
            .set::<u64>(control::N_CR3, pointer & 0x000F_FFFF_FFFF_F000);
        let asid = if self.asid_per_view {
            view as u32 + 1
        } else {
            1
        };
        self.vmcb.set::<u32>(control::GUEST_ASID, asid);
        // A pointer that is not the view's own (the conformance fixture's aliases) has other
        // tables under the same ASID; so does every view when they share one.
        if !self.asid_per_view || self.pointers.get(view) != Some(&pointer) {
            self.flush = true;
        }
        self.current = (view, pointer);
    }

    fn set_view_index(&mut self, _index: u16) {
        // SVM has no EPTP-index field.
    }

    fn view_index(&self) -> Option<u16> {
        None
    }

    fn hardware_switching(&self) -> bool {
        false
    }

    fn set_trapped(&mut self, _trapped: bool) {
        // SVM has no VMFUNC: every switch traps already.
    }

    fn arm_watchdog(&mut self, ticks: u64) {
        self.watchdog = self.rate.count_for(ticks);
    }

    fn clear_single_step(&mut self) {
        let rflags = Rflags::from_bits_retain(self.vmcb.get::<u64>(state::RFLAGS));
        let rflags = rflags.difference(Rflags::TF) | Rflags::IF;
        self.vmcb.set::<u64>(state::RFLAGS, rflags.bits());
        // DR6 with BS (bit 14) clear: its architectural reset value.
        self.vmcb.set::<u64>(state::DR6, 0xFFFF_0FF0);
    }
}

fn exit_is_watchdog(exit: &tessera_core::exit::VmExit) -> bool {
    *exit == tessera_core::exit::VmExit::Watchdog
}
