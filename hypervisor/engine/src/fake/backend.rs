//! A backend that replays scripted exits: each [`Step`] is what the guest did until its
//! next exit (where RIP ended up, which view it switched to in hardware, what it left in
//! its registers, how long it took) and the exit itself. Everything the engine asks of
//! the backend is recorded as an [`Event`], so a test can check what the engine did to
//! the CPU, not only what it printed.

pub use super::step::{Regs, Step};
use crate::backend::{Backend, Code, Exit, Fields, Gprs, Guest, GuestState, Loaded, OwnSlotUd};
use crate::ids::ViewId;
use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;
use tessera_core::exit::VmExit;
use tessera_core::paging::{EntryFormat, Ept};

/// What the engine asked of the backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Reset(ViewId),
    SwitchTo(ViewId),
    /// The emulated switch's fast path switched to this view (`Guest::fast_switch`);
    /// `SwitchTo` follows.
    FastSwitch(ViewId),
    Trapped(bool),
    Armed(u64),
    ClearInterruptShadow,
    ClearSingleStep,
    /// The engine wrote RIP, RSP or RFLAGS before an entry.
    Wrote(Fields, u64),
    /// The conformance fixture loaded this pointer, with this EPTP index
    /// (`fixture::RawViews`).
    LoadPointer(u64, Option<u16>),
    /// The conformance fixture replaced the hardware EPTP list.
    SetList,
    /// The engine kicked this other vCPU (the stop barrier).
    Kick(usize),
}

/// The scripted CPU.
#[derive(Debug)]
pub struct FakeCpu<F = Ept> {
    /// The format its views are built in.
    pub format: F,
    /// What the guest does next.
    pub script: VecDeque<Step>,
    /// The CPU's copies of RIP, RSP, RFLAGS.
    pub rip: u64,
    pub rsp: u64,
    pub rflags: u64,
    /// The view it runs in.
    pub view: ViewId,
    /// Each view's own pointer (EPTP form), by [`ViewId`]: what the tests give it.
    pub pointers: Vec<u64>,
    /// The pointer it runs on when that is no view's own (an alias the conformance
    /// fixture loaded); `None`: `view`'s own.
    pub alias: Option<u64>,
    /// Whether it has the EPTP-index field (VMX with EPT-violation #VE), and its value.
    pub ve: bool,
    pub index: u16,
    /// The hardware EPTP list as the conformance fixture last wrote it (empty before).
    pub list: Vec<u64>,
    /// Whether it has hardware VMFUNC (and trapped switching is off).
    pub hardware: bool,
    /// Trapped switching is on.
    pub trapped: bool,
    /// STI / MOV-SS blocking in effect.
    pub shadow: bool,
    /// The TSC.
    pub clock: u64,
    /// What the engine asked, in order.
    pub events: Vec<Event>,
    /// Host CPUID leaves 0 and 1.
    pub cpuid: [[u32; 4]; 2],
    /// The general registers the engine gave the guest at each entry (a hypercall's
    /// results are in the entry after it).
    pub entered_with: Vec<Gprs>,
    /// The vCPU it is ([`Backend::vcpu`]); 0 unless a test says otherwise.
    pub cpu: usize,
}

impl<F: EntryFormat + Copy> FakeCpu<F> {
    /// A CPU without hardware VMFUNC (every switch is emulated).
    pub fn new(format: F, script: impl IntoIterator<Item = Step>) -> Self {
        FakeCpu {
            format,
            script: script.into_iter().collect(),
            rip: 0,
            rsp: 0,
            rflags: 0,
            view: ViewId(0),
            pointers: Vec::new(),
            alias: None,
            ve: false,
            index: 0,
            list: Vec::new(),
            hardware: false,
            trapped: false,
            shadow: false,
            clock: 1_000,
            events: Vec::new(),
            cpuid: [
                [0xd, 0x756e_6547, 0x6c65_746e, 0x4965_6e69],
                [0x306a9, 0x800, 0x8000_0021 | 0x1000, 0x178b_fbff],
            ],
            entered_with: Vec::new(),
            cpu: 0,
        }
    }

    /// Whether the engine asked for `event`.
    pub fn did(&self, event: Event) -> bool {
        self.events.contains(&event)
    }

    /// The tables it fetches through: the view's own, or an alias's root.
    pub fn loaded(&self) -> Loaded {
        match self.alias {
            Some(pointer) => Loaded::of(pointer, &[]),
            None => Loaded::View(self.view),
        }
    }
}

impl<F: EntryFormat + Copy> FakeCpu<F> {
    /// One scripted run of the guest to its next exit.
    fn run_once(&mut self, state: &mut GuestState, code: &dyn Code) -> Result<Exit, String> {
        for (field, value) in state.take_dirty().iter() {
            self.events.push(Event::Wrote(field, value));
            match field {
                Fields::RIP => self.rip = value,
                Fields::RSP => self.rsp = value,
                _ => self.rflags = value | 0x200,
            }
        }
        self.entered_with.push(state.gprs);
        let step = self.script.pop_front().ok_or("the script ended")?;
        self.clock += step.ticks;
        self.shadow = step.shadow;
        if let Some(rip) = step.rip {
            self.rip = rip;
        }
        if let Some(view) = step.view {
            self.view = view;
            self.alias = None;
        }
        if let Some((pointer, index)) = step.pointer {
            self.alias = Some(pointer);
            self.index = index;
        }
        if let Some(regs) = step.regs {
            regs(&mut state.gprs);
        }
        state.entered();
        let mut exit = step.exit;
        if step.decode {
            exit = crate::decode::invalid_opcode(
                code,
                self.loaded(),
                self.rip,
                self.hardware_switching(),
            );
        }
        Ok(Exit {
            exit,
            reason: step.reason,
        })
    }
}

impl<F: EntryFormat + Copy> Backend for FakeCpu<F> {
    type Format = F;

    fn reset(&mut self, view: ViewId, state: &mut GuestState) -> Result<(), String> {
        self.events.push(Event::Reset(view));
        self.view = view;
        self.alias = None;
        self.rflags = 0x202;
        state.store(Fields::RFLAGS, 0x202);
        Ok(())
    }

    fn run<G: Guest>(&mut self, state: &mut GuestState, guest: &mut G) -> Result<Exit, String> {
        loop {
            let exit = self.run_once(state, &*guest)?;
            // As the kernel's backends: a VMFUNC #UD at the own slot is offered to the
            // fast path first; one it takes is made here and the guest goes on.
            if let (&VmExit::VmFuncUd { len }, Loaded::View(view)) = (&exit.exit, self.loaded())
                && tessera_core::protocol::own_slot_vmfunc(self.rip, u64::from(view.0)).is_some()
            {
                let ud = OwnSlotUd {
                    view,
                    rip: self.rip,
                    len,
                    gprs: &state.gprs,
                    shadow: self.shadow,
                    rflags: self.rflags,
                    now: self.clock,
                    reason: exit.reason,
                };
                if let Some((target, ticks)) = guest.fast_switch(&ud) {
                    self.events.push(Event::FastSwitch(target));
                    self.switch_to(target);
                    self.rip += len;
                    self.arm_watchdog(ticks);
                    continue;
                }
            }
            return Ok(exit);
        }
    }

    fn save(&mut self, state: &mut GuestState, fields: Fields) {
        for (field, value) in [
            (Fields::RIP, self.rip),
            (Fields::RSP, self.rsp),
            (Fields::RFLAGS, self.rflags),
        ] {
            if fields.contains(field) {
                state.store(field, value);
            }
        }
    }

    fn switch_to(&mut self, view: ViewId) {
        self.events.push(Event::SwitchTo(view));
        self.view = view;
        self.alias = None;
    }

    fn current_view(&self) -> ViewId {
        self.view
    }

    fn kick(&mut self, cpu: usize) {
        self.events.push(Event::Kick(cpu));
    }

    fn vcpu(&self) -> usize {
        self.cpu
    }

    fn hardware_switching(&self) -> bool {
        self.hardware && !self.trapped
    }

    fn set_trapped(&mut self, trapped: bool) {
        self.events.push(Event::Trapped(trapped));
        self.trapped = trapped;
    }

    fn arm_watchdog(&mut self, ticks: u64) {
        self.events.push(Event::Armed(ticks));
    }

    fn interrupt_shadow(&self) -> bool {
        self.shadow
    }

    fn clear_interrupt_shadow(&mut self) {
        self.events.push(Event::ClearInterruptShadow);
        self.shadow = false;
    }

    fn clear_single_step(&mut self, state: &mut GuestState) {
        self.events.push(Event::ClearSingleStep);
        // As the kernel's backends: RFLAGS is written only if TF was set.
        let rflags = state.cached(Fields::RFLAGS).unwrap_or(self.rflags);
        if rflags & (1 << 8) != 0 {
            state.set(Fields::RFLAGS, rflags & !(1 << 8));
        } else {
            state.store(Fields::RFLAGS, rflags);
        }
    }

    fn now(&self) -> u64 {
        self.clock
    }

    fn host_cpuid(&self, leaf: u32, _subleaf: u32) -> [u32; 4] {
        match leaf {
            0 | 1 => self.cpuid[leaf as usize],
            _ => [0xFFFF_FFFF; 4],
        }
    }
}

#[cfg(feature = "fixture")]
impl<F: EntryFormat + Copy> crate::fixture::RawViews for FakeCpu<F> {
    fn load_pointer(&mut self, view: ViewId, pointer: u64, index: Option<u16>) {
        self.events.push(Event::LoadPointer(pointer, index));
        self.view = view;
        let own = self.pointers.get(view.index()) == Some(&pointer);
        self.alias = (!own).then_some(pointer);
        if let Some(index) = index {
            self.index = index;
        }
    }

    fn loaded_pointer(&self) -> u64 {
        self.alias
            .or_else(|| self.pointers.get(self.view.index()).copied())
            .unwrap_or_default()
    }

    fn view_index(&self) -> Option<u16> {
        self.ve.then_some(self.index)
    }

    fn set_list(&mut self, list: &[u64; 512]) {
        self.events.push(Event::SetList);
        self.list = list.to_vec();
    }
}
