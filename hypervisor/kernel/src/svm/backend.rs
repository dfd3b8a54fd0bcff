//! The SVM backend behind the engine's [`Backend`] port, with AMD's quirks normalised
//! here into the exits VMX reports: VMCALL and VMFUNC raise #UD (decoded through the view
//! the CPU fetched from, `tessera_engine::decode`), QEMU TCG raises #UD for ICEBP, an
//! INTn intercept carries no vector (decoded from its bytes), and a CPUID intercept no
//! instruction length (decoded too).

use super::vmcb::Vmcb;
use alloc::string::String;
use alloc::vec::Vec;
use tessera_core::exit::VmExit;
use tessera_core::paging::Npt;
use tessera_core::protocol::own_slot_vmfunc;
use tessera_core::rflags::Rflags;
use tessera_core::svm::exit::{RawExit, decode, reason_name};
use tessera_core::svm::vmcb::{control, state};
use tessera_engine::backend::{Backend, Exit, Fields, Guest, GuestState, Loaded, OwnSlotUd};
use tessera_engine::decode::{invalid_opcode, length, software_interrupt};
use tessera_engine::ids::ViewId;
use tessera_engine::port::Frames;

/// One vCPU on SVM.
#[derive(Debug)]
pub struct SvmCpu {
    pub(super) vmcb: Vmcb,
    /// Each view's own pointer (EPTP form; its address is the view's nCR3).
    pub(super) pointers: Vec<u64>,
    pub(super) asid_per_view: bool,
    /// The view and pointer loaded now.
    pub(super) current: (ViewId, u64),
    /// Flush the TLB on the next VMRUN.
    pub(super) flush: bool,
    /// The local-APIC timer against the TSC.
    pub(super) rate: crate::lapic::Rate,
    /// Local-APIC timer count for the next VMRUN.
    pub(super) watchdog: u32,
    /// The CPU it runs on, whose vCPU it is (vCPU k on CPU k; its local APIC times it).
    pub(super) index: crate::percpu::CpuIndex,
    /// That CPU's kick flag (`smp::kick_flag`), looked at before each entry.
    pub(super) kicked: &'static core::sync::atomic::AtomicBool,
    /// The VMCB, host-save area and permission maps, owned while the CPU uses them.
    pub(super) _owned: Vec<Frames>,
}

impl SvmCpu {
    /// The VMCB field holding `field`.
    fn field_of(field: Fields) -> usize {
        match field {
            Fields::RIP => state::RIP,
            Fields::RSP => state::RSP,
            _ => state::RFLAGS,
        }
    }

    /// Loads nCR3 from `pointer` (EPTP form) for `view`'s ASID. A pointer that is not
    /// the view's own (the conformance fixture's aliases) has other tables under the
    /// same ASID, as does every view when they share one: the TLB is flushed then.
    pub(crate) fn load_ncr3(&mut self, view: ViewId, pointer: u64) {
        self.vmcb
            .set::<u64>(control::N_CR3, pointer & 0x000F_FFFF_FFFF_F000);
        let asid = if self.asid_per_view {
            u32::from(view.0) + 1
        } else {
            1
        };
        self.vmcb.set::<u32>(control::GUEST_ASID, asid);
        if !self.asid_per_view || self.pointers.get(view.index()) != Some(&pointer) {
            self.flush = true;
        }
        self.current = (view, pointer);
    }

    /// The tables nCR3 roots now: the view's own, or another root L1 built (the
    /// conformance fixture's aliases).
    fn loaded(&self) -> Loaded {
        let (view, pointer) = self.current;
        if self.pointers.get(view.index()) == Some(&pointer) {
            Loaded::View(view)
        } else {
            Loaded::of(pointer, &self.pointers)
        }
    }

    /// Enters the guest once: its exit, or `None` when the emulated switch's fast path
    /// made the switch it exited for ([`Guest::fast_switch`]) and the guest is to be
    /// entered again.
    #[inline]
    fn run_once<G: Guest>(&mut self, state: &mut GuestState, guest: &mut G) -> Option<Exit> {
        // RFLAGS comes with IF = 1 (`GuestState::take_dirty`).
        for (field, value) in state.take_dirty().iter() {
            self.vmcb.set::<u64>(Self::field_of(field), value);
        }
        let v = &mut self.vmcb;
        v.set::<u64>(state::RAX, state.gprs.rax);
        v.set::<u8>(control::TLB_CONTROL, u8::from(self.flush));
        self.flush = false;
        crate::lapic::arm(self.index, self.watchdog);
        // SAFETY: the VMCB intercepts every sensitive instruction, runs on nested page
        // tables L1 built, with a non-zero ASID; SVME and VM_HSAVE_PA were set up.
        unsafe { super::run::vmrun(&mut state.gprs, v.pa()) };
        crate::lapic::arm(self.index, 0);
        state.entered();
        state.gprs.rax = v.get::<u64>(state::RAX);
        let raw = RawExit {
            code: v.get::<u64>(control::EXIT_CODE),
            info1: v.get::<u64>(control::EXIT_INFO1),
            info2: v.get::<u64>(control::EXIT_INFO2),
            rcx: state.gprs.rcx,
        };
        log::trace!(
            "svm exit {:#x} info1 {:#x} info2 {:#x}",
            raw.code,
            raw.info1,
            raw.info2
        );
        let mut exit = decode(&raw);
        if exit == VmExit::Interrupt && crate::lapic::take_pending(self.index) {
            exit = VmExit::Watchdog;
        }
        let reason = if exit == VmExit::Watchdog {
            "watchdog"
        } else {
            reason_name(raw.code)
        };
        let exit = self.normalise(exit, guest, state, reason)?;
        Some(Exit { exit, reason })
    }

    /// A #UD at `rip` in the tables `loaded`: if it is the `VMFUNC` at the executing
    /// view's own slot and the engine takes it on the fast path, the switch is made here
    /// (nCR3 and ASID, RIP, the timer): `true`.
    #[inline]
    fn fast_switch<G: Guest>(
        &mut self,
        state: &mut GuestState,
        guest: &mut G,
        loaded: Loaded,
        rip: u64,
        reason: &'static str,
    ) -> bool {
        let Loaded::View(view) = loaded else {
            return false;
        };
        let Some(len) = own_slot_vmfunc(rip, u64::from(view.0)) else {
            return false;
        };
        let rflags = self.vmcb.get::<u64>(state::RFLAGS);
        state.store(Fields::RFLAGS, rflags);
        let ud = OwnSlotUd {
            view,
            rip,
            len,
            gprs: &state.gprs,
            shadow: self.interrupt_shadow(),
            rflags,
            now: crate::cpu::rdtsc(),
            reason,
        };
        let Some((target, ticks)) = guest.fast_switch(&ud) else {
            return false;
        };
        self.switch_to(target);
        state.set(Fields::RIP, rip.wrapping_add(len));
        self.arm_watchdog(ticks);
        true
    }

    /// Turns the exit the APM reports into the one VMX would (module header). Only the
    /// exits decoded from their bytes read RIP; every other exit passes through as is.
    /// `None`: a #UD the emulated switch's fast path took ([`SvmCpu::fast_switch`]).
    fn normalise<G: Guest>(
        &mut self,
        exit: VmExit,
        guest: &mut G,
        state: &mut GuestState,
        reason: &'static str,
    ) -> Option<VmExit> {
        let ud = VmExit::Exception {
            vector: 6,
            error_code: None,
        };
        if !(exit == ud || matches!(exit, VmExit::SoftwareInterrupt | VmExit::Cpuid { .. })) {
            return Some(exit);
        }
        let rip = self.vmcb.get::<u64>(state::RIP);
        state.store(Fields::RIP, rip);
        let from = self.loaded();
        Some(match exit {
            VmExit::SoftwareInterrupt => software_interrupt(&*guest, from, rip),
            VmExit::Cpuid { len } => VmExit::Cpuid {
                len: length(&*guest, from, rip, &tessera_core::decode::CPUID, len),
            },
            _ if self.fast_switch(state, guest, from, rip, reason) => return None,
            _ => invalid_opcode(&*guest, from, rip, false),
        })
    }
}

impl Backend for SvmCpu {
    type Format = Npt;

    fn reset(&mut self, view: ViewId, state: &mut GuestState) -> Result<(), String> {
        let pointer = *self
            .pointers
            .get(view.index())
            .ok_or_else(|| alloc::format!("{view} has no nested page tables"))?;
        super::write_guest_state(&mut self.vmcb, 0, 0);
        self.load_ncr3(view, pointer);
        self.flush = true;
        state.store(Fields::RFLAGS, Rflags::CLEAN.bits());
        Ok(())
    }

    fn run<G: Guest>(&mut self, state: &mut GuestState, guest: &mut G) -> Result<Exit, String> {
        loop {
            if crate::smp::take(self.kicked) {
                // Kicked while in L1: the exit the NMI would have caused (nothing entered).
                return Ok(crate::smp::kicked());
            }
            if let Some(exit) = self.run_once(state, guest) {
                return Ok(exit);
            }
        }
    }

    fn save(&mut self, state: &mut GuestState, fields: Fields) {
        for field in [Fields::RIP, Fields::RSP, Fields::RFLAGS] {
            if fields.contains(field) {
                state.store(field, self.vmcb.get::<u64>(Self::field_of(field)));
            }
        }
    }

    fn switch_to(&mut self, view: ViewId) {
        if let Some(&pointer) = self.pointers.get(view.index()) {
            self.load_ncr3(view, pointer);
        }
    }

    fn current_view(&self) -> ViewId {
        self.current.0
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

    fn interrupt_shadow(&self) -> bool {
        // Bit 0 of the VMCB's interrupt-shadow field (APM 2 §15.21.5).
        self.vmcb.get::<u64>(control::INTERRUPT_SHADOW) & 1 != 0
    }

    fn clear_interrupt_shadow(&mut self) {
        self.vmcb.set::<u64>(control::INTERRUPT_SHADOW, 0);
    }

    fn clear_single_step(&mut self, state: &mut GuestState) {
        let rflags = match state.cached(Fields::RFLAGS) {
            Some(value) => value,
            None => self.vmcb.get::<u64>(state::RFLAGS),
        };
        let rflags = Rflags::from_bits_retain(rflags);
        if rflags.contains(Rflags::TF) {
            state.set(Fields::RFLAGS, rflags.difference(Rflags::TF).bits());
        } else {
            state.store(Fields::RFLAGS, rflags.bits());
        }
        // DR6 with BS (bit 14) clear: its architectural reset value.
        self.vmcb.set::<u64>(state::DR6, 0xFFFF_0FF0);
    }

    fn now(&self) -> u64 {
        crate::cpu::rdtsc()
    }

    fn vcpu(&self) -> usize {
        self.index.get()
    }

    fn kick(&mut self, cpu: usize) {
        if let Some(cpu) = crate::percpu::CpuIndex::new(cpu) {
            crate::smp::kick(cpu);
        }
    }

    fn host_cpuid(&self, leaf: u32, subleaf: u32) -> [u32; 4] {
        crate::cpu::cpuid(leaf, subleaf)
    }
}
