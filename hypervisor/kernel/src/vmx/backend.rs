//! The VMX backend behind the engine's [`Backend`] port: a VMCS, VM entries with the
//! preemption-timer watchdog, exits decoded by core, and VMX's quirks normalised here: a
//! #UD is decoded through the view the CPU fetched from (`tessera_engine::decode`), so
//! the engine sees the emulated VMFUNC, a VMCALL or ICEBP, never a raw #UD of one.

use super::instr::{VmFail, vmread, vmwrite};
use super::run::enter;
use super::vmcs::Vmcs;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::Cell;
use tessera_core::caps::VmxCaps;
use tessera_core::paging::Ept;
use tessera_core::protocol::own_slot_vmfunc;
use tessera_core::rflags::Rflags;
use tessera_core::vmx::controls::SecondaryControls;
use tessera_core::vmx::exit::{
    ExitFields, RawExit, decode, fields_needed, is_invalid_opcode, reason_name,
};
use tessera_core::vmx::fields;
use tessera_engine::backend::{Backend, Exit, Fields, Guest, GuestState, Loaded, OwnSlotUd};
use tessera_engine::decode::invalid_opcode;
use tessera_engine::ids::ViewId;
use tessera_engine::port::Frames;

/// One vCPU on VMX.
#[derive(Debug)]
pub struct VmxCpu {
    pub(super) vmcs: Vmcs,
    pub(super) caps: VmxCaps,
    /// The secondary controls with "enable VM functions" set, when the CPU switches views
    /// itself (hardware VMFUNC in use); `None` on the emulated path.
    pub(super) vm_functions: Option<SecondaryControls>,
    /// "Enable VM functions" is on now (not trapped): the CPU switches views itself.
    pub(super) hardware: bool,
    /// Preemption-timer value for the next entry (TSC ticks >> the timer rate).
    pub(super) timer: u64,
    /// The first VMREAD/VMWRITE that failed since the last run (reported by `run`).
    pub(super) failed: Cell<Option<(&'static str, u32, VmFail)>>,
    /// Each view's EPT pointer, by [`ViewId`].
    pub(super) pointers: Vec<u64>,
    /// The tables of the EPT pointer L1 loaded last: what the CPU fetches through
    /// whenever it does not switch by itself (`hardware` off), so the emulated path never
    /// reads the VMCS for it.
    pub(super) loaded_tables: Loaded,
    /// The hardware EPTP list (what VMFUNC reads by address).
    pub(super) list: crate::phys::OwnedPage,
    /// The CPU it runs on, whose vCPU it is (vCPU k on CPU k).
    pub(super) index: crate::percpu::CpuIndex,
    /// That CPU's kick flag (`smp::kick_flag`), looked at before each entry.
    pub(super) kicked: &'static core::sync::atomic::AtomicBool,
    /// The VMCS region, owned while the CPU uses it.
    pub(super) _owned: Vec<Frames>,
}

impl VmxCpu {
    /// Reads a guest-state or exit field; a failure is latched and fails the next run.
    pub(crate) fn read(&self, field: u32) -> u64 {
        vmread(field).unwrap_or_else(|e| {
            self.latch("vmread", field, e);
            0
        })
    }

    /// Writes a field; a failure is latched and fails the next run.
    pub(crate) fn write(&self, field: u32, value: u64) {
        // SAFETY: the run loop writes only guest RIP/RSP/RFLAGS, the interruptibility
        // state, pending debug exceptions, the preemption timer, the secondary controls
        // (VM functions on/off), the EPT pointer of a view L1 built and the EPTP index
        // (where it exists); none of them give the guest access to L1 memory.
        if let Err(e) = unsafe { vmwrite(field, value) } {
            self.latch("vmwrite", field, e);
        }
    }

    /// The first VMREAD/VMWRITE that failed since the last call (a test, on the path of
    /// every exit, before the take).
    #[inline]
    fn take_failure(&self) -> Option<(&'static str, u32, VmFail)> {
        self.failed.get().and_then(|_| self.failed.take())
    }

    fn latch(&self, what: &'static str, field: u32, error: VmFail) {
        if self.failed.get().is_none() {
            self.failed.set(Some((what, field, error)));
        }
    }

    /// The VMCS field holding `field`.
    fn field_of(field: Fields) -> u32 {
        match field {
            Fields::RIP => fields::GUEST_RIP,
            Fields::RSP => fields::GUEST_RSP,
            _ => fields::GUEST_RFLAGS,
        }
    }

    /// Loads EPT pointer `pointer`, and with `index`, as list entry `index` would: the
    /// EPTP-index field too, where it exists (SDM 2B "VMFUNC", EPTP switching: "if the
    /// processor supports the 1-setting of the 'EPT-violation #VE' VM-execution control,
    /// EPTP-index ← ECX[15:0]"; SDM 3C §25.6.19). The current view is always read from
    /// the pointer, never the index (KVM does not maintain the field for L1).
    pub(crate) fn load_eptp(&mut self, pointer: u64, index: Option<u16>) {
        self.loaded_tables = Loaded::of(pointer, &self.pointers);
        self.write(fields::EPT_POINTER, pointer);
        if let Some(index) = index.filter(|_| self.caps.ve) {
            self.write(fields::EPTP_INDEX, index.into());
        }
    }

    /// Writes the hardware EPTP list. VMFUNC reads it by address at every switch (SDM 2B
    /// "VMFUNC"): the next one sees the new entries, no INVEPT needed.
    pub(crate) fn write_list(&mut self, list: &[u64; 512]) {
        for (slot, pointer) in list.iter().enumerate() {
            self.list.write_u64(slot, *pointer);
        }
    }

    /// The EPT pointer loaded now.
    pub(crate) fn pointer(&self) -> u64 {
        self.read(fields::EPT_POINTER)
    }

    /// The tables the CPU fetches through now (after a hardware VMFUNC, the target's).
    fn loaded(&self) -> Loaded {
        if self.hardware {
            // The CPU may have switched by itself since L1 last loaded a pointer.
            Loaded::of(self.pointer(), &self.pointers)
        } else {
            self.loaded_tables
        }
    }

    /// The raw exit of the last VM exit: the reason, then only the fields core decodes
    /// an exit of that reason from (`fields_needed`; the others stay 0).
    fn raw_exit(&self, reason: u32, rcx: u64) -> RawExit {
        let needed = fields_needed(reason);
        let read = |field: ExitFields, vmcs: u32| {
            if needed.contains(field) {
                self.read(vmcs)
            } else {
                0
            }
        };
        let interruption_info =
            read(ExitFields::INTERRUPTION, fields::EXIT_INTERRUPTION_INFO) as u32;
        RawExit {
            reason,
            qualification: read(ExitFields::QUALIFICATION, fields::EXIT_QUALIFICATION),
            interruption_info,
            // Only an exception that delivers one has an error code (§25.9.2: bit 11).
            interruption_error: if interruption_info & (1 << 11) != 0 {
                self.read(fields::EXIT_INTERRUPTION_ERROR_CODE) as u32
            } else {
                0
            },
            instruction_len: read(ExitFields::INSTRUCTION_LEN, fields::EXIT_INSTRUCTION_LENGTH),
            guest_physical: read(ExitFields::GUEST_PHYSICAL, fields::GUEST_PHYSICAL_ADDRESS),
            rcx,
        }
    }

    /// A #UD at `rip` in the tables `loaded`: if it is the `VMFUNC` at the executing
    /// view's own slot and the engine takes it on the fast path, the switch is made here
    /// (the target's pointer and EPTP index, RIP, the timer): `true`.
    #[inline]
    fn fast_switch<G: Guest>(
        &mut self,
        state: &mut GuestState,
        guest: &mut G,
        loaded: Loaded,
        rip: u64,
        reason: u32,
    ) -> bool {
        let Loaded::View(view) = loaded else {
            return false;
        };
        let Some(len) = own_slot_vmfunc(rip, u64::from(view.0)).filter(|_| !self.hardware) else {
            return false;
        };
        let rflags = self.read(fields::GUEST_RFLAGS);
        state.store(Fields::RFLAGS, rflags);
        let ud = OwnSlotUd {
            view,
            rip,
            len,
            gprs: &state.gprs,
            shadow: self.interrupt_shadow(),
            rflags,
            now: crate::cpu::rdtsc(),
            reason: reason_name(reason & 0xFFFF),
        };
        let Some((target, ticks)) = guest.fast_switch(&ud) else {
            return false;
        };
        self.switch_to(target);
        state.set(Fields::RIP, rip.wrapping_add(len));
        self.arm_watchdog(ticks);
        true
    }
}

impl Backend for VmxCpu {
    type Format = Ept;

    fn reset(&mut self, view: ViewId, state: &mut GuestState) -> Result<(), String> {
        let pointer = *self
            .pointers
            .get(view.index())
            .ok_or_else(|| alloc::format!("{view} has no EPT pointer"))?;
        self.vmcs
            .start_guest(&self.caps, 0, 0, pointer)
            .map_err(|e| alloc::format!("vmcs-guest-state-failed error={e}"))?;
        self.load_eptp(pointer, Some(view.0));
        state.store(Fields::RFLAGS, Rflags::CLEAN.bits());
        super::instr::invept_all().map_err(|e| alloc::format!("invept-failed error={e}"))
    }

    fn run<G: Guest>(&mut self, state: &mut GuestState, guest: &mut G) -> Result<Exit, String> {
        // Once, or again after each switch the emulated switch's fast path made
        // (`VmxCpu::fast_switch`).
        loop {
            if crate::smp::take(self.kicked) {
                // Kicked while in L1: the exit the NMI would have caused (nothing entered).
                return Ok(crate::smp::kicked());
            }
            // RFLAGS comes with IF = 1 (`GuestState::take_dirty`).
            let dirty = state.take_dirty();
            if let Some(rip) = dirty.rip {
                self.write(fields::GUEST_RIP, rip);
            }
            if let Some(rsp) = dirty.rsp {
                self.write(fields::GUEST_RSP, rsp);
            }
            if let Some(rflags) = dirty.rflags {
                self.write(fields::GUEST_RFLAGS, rflags);
            }
            self.write(fields::PREEMPTION_TIMER_VALUE, self.timer);
            if let Some((what, field, error)) = self.take_failure() {
                return Err(alloc::format!(
                    "{what}-failed field={field:#x} error={error}"
                ));
            }
            // SAFETY: the VMCS holds this kernel's host state and a guest confined to views L1
            // built; `launched` is tracked here.
            unsafe { enter(&mut state.gprs, self.vmcs.launched) }
                .map_err(|e| alloc::format!("vm-entry-instruction-failed error={e}"))?;
            self.vmcs.launched = true;
            state.entered();
            let reason = self.read(fields::EXIT_REASON) as u32;
            // A #UD (the emulated switch's exit) is known from two fields: then only its
            // instruction, from RIP, is decoded.
            let info = match reason & 0xFFFF {
                0 => self.read(fields::EXIT_INTERRUPTION_INFO) as u32,
                _ => 0,
            };
            let exit = if is_invalid_opcode(reason, info) {
                let rip = self.read(fields::GUEST_RIP);
                state.store(Fields::RIP, rip);
                let loaded = self.loaded();
                if self.fast_switch(state, guest, loaded, rip, reason) {
                    continue;
                }
                invalid_opcode(&*guest, loaded, rip, self.hardware)
            } else {
                decode(&self.raw_exit(reason, state.gprs.rcx))
            };
            if let Some((what, field, error)) = self.take_failure() {
                return Err(alloc::format!(
                    "{what}-failed field={field:#x} error={error}"
                ));
            }
            return Ok(Exit {
                exit,
                reason: reason_name(reason & 0xFFFF),
            });
        }
    }

    fn save(&mut self, state: &mut GuestState, fields: Fields) {
        for field in [Fields::RIP, Fields::RSP, Fields::RFLAGS] {
            if fields.contains(field) {
                state.store(field, self.read(Self::field_of(field)));
            }
        }
    }

    fn switch_to(&mut self, view: ViewId) {
        if let Some(&pointer) = self.pointers.get(view.index()) {
            // `load_eptp` without searching for the view the pointer is.
            self.loaded_tables = Loaded::View(view);
            self.write(fields::EPT_POINTER, pointer);
            if self.caps.ve {
                self.write(fields::EPTP_INDEX, view.0.into());
            }
        }
    }

    fn current_view(&self) -> ViewId {
        match self.loaded() {
            Loaded::View(view) => view,
            // No view of this world has that pointer: the engine refuses to go on.
            Loaded::Root(_) => ViewId(u16::MAX),
        }
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
        if trapped && self.hardware {
            // From now on only L1 switches: remember where the CPU's own switches left it.
            self.loaded_tables = Loaded::of(self.pointer(), &self.pointers);
        }
        self.write(fields::SECONDARY_PROC_CONTROLS, value.bits().into());
        self.hardware = !trapped;
    }

    fn arm_watchdog(&mut self, ticks: u64) {
        // The field is 32 bits wide and counts down at TSC >> rate (SDM 3C §26.5.1).
        self.timer = (ticks >> self.caps.preemption_timer_rate).clamp(1, u32::MAX.into());
    }

    fn interrupt_shadow(&self) -> bool {
        // Bits 0 and 1: blocking by STI and by MOV SS (SDM 3C §25.4.2, Table 25-3).
        self.read(fields::GUEST_INTERRUPTIBILITY) & 3 != 0
    }

    fn clear_interrupt_shadow(&mut self) {
        // Bits 0 and 1: blocking by STI and by MOV SS (SDM 3C §25.4.2, Table 25-3).
        let state = self.read(fields::GUEST_INTERRUPTIBILITY);
        if state & 3 != 0 {
            self.write(fields::GUEST_INTERRUPTIBILITY, state & !3);
        }
    }

    fn clear_single_step(&mut self, state: &mut GuestState) {
        let rflags = match state.cached(Fields::RFLAGS) {
            Some(value) => value,
            None => self.read(fields::GUEST_RFLAGS),
        };
        let rflags = Rflags::from_bits_retain(rflags);
        if rflags.contains(Rflags::TF) {
            state.set(Fields::RFLAGS, rflags.difference(Rflags::TF).bits());
        } else {
            state.store(Fields::RFLAGS, rflags.bits());
        }
        // Pending debug exceptions (SDM 3C §25.4.2): BS and friends of a trap that MOV SS
        // or STI blocking deferred; it would fire in whichever view runs next.
        self.write(fields::GUEST_PENDING_DEBUG, 0);
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
