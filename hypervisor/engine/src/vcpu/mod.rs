//! The per-vCPU run loop, written once for every backend (DESIGN §6, §7): each
//! compartment's `main` in manifest order; at every exit the watchdog first
//! (`tessera_core::watchdog`), then the exit the backend decoded, one method per exit
//! class ([`exits`]). Hypercalls act for the current view; VMFUNC is emulated where the
//! CPU does not switch views itself ([`vmfunc`]). A fault stops the view the CPU was
//! executing, nothing else, and the thread of control is repaired ([`contain`]).

mod contain;
mod exits;
mod fast;
mod vmfunc;

use crate::backend::{Backend, Fields, GuestState};
use crate::ids::ViewId;
use crate::port::Memory;
use crate::world::{Hold, Status, World};
use alloc::string::String;
use tessera_core::watchdog::{Verdict, Watchdog};

/// The world a vCPU of backend `B` runs in.
pub type WorldOf<B, M> = World<<B as Backend>::Format, M>;

/// How the thread goes on after an exit that broke it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// A waiting caller was resumed with an error: keep running.
    Resumed,
    /// The running `main` is over.
    MainOver,
}

/// The thread of one `main`: which view started it, and the TSC at the exit.
#[derive(Debug, Clone, Copy)]
struct Thread {
    main: ViewId,
    now: u64,
}

/// One vCPU: its backend, the guest's registers, and the watchdog of its thread.
#[derive(Debug)]
pub struct Vcpu<B: Backend> {
    /// The backend.
    pub cpu: B,
    /// The guest's registers.
    pub state: GuestState,
    dog: Watchdog,
    /// Each EPTP-list slot's entry the last emulated switch through it accepted (0:
    /// none): `tessera_core::vmfunc::execute_known` does not check it again.
    accepted: alloc::boxed::Box<[u64; 512]>,
}

impl<B: Backend> Vcpu<B> {
    /// A vCPU on `cpu` whose switches and activations `dog` bounds.
    pub fn new(cpu: B, dog: Watchdog) -> Self {
        Vcpu {
            cpu,
            state: GuestState::default(),
            dog,
            accepted: alloc::boxed::Box::new([0; 512]),
        }
    }

    /// The watchdog.
    pub fn watchdog(&self) -> &Watchdog {
        &self.dog
    }

    /// Runs every compartment's `main` that is ready and placed on this vCPU (manifest
    /// `cpu`), in manifest order. `Err` is an L1 failure (the boot fails). `world` is
    /// the world itself (one vCPU) or the lock every vCPU shares ([`crate::world::Shared`]).
    pub fn run_all<W: Hold<Format = B::Format>>(&mut self, world: &mut W) -> Result<(), String>
    where
        B::Format: Copy,
    {
        let k = self.cpu.vcpu();
        let count = world.read(|w| w.views.len());
        for main in (0..count as u16).map(ViewId) {
            let ready = |w: &WorldOf<B, W::Mem>| {
                w.view(main).compartment.status == Status::Ready && w.runs_on(main, k)
            };
            let mut run = world.read(ready);
            while run {
                let restarts = world.read(|w| w.view(main).lifecycle.restarts);
                self.run_main(world, main)?;
                // Again if its `main` faulted and it was restarted (`max_restarts` bounds
                // the loop); an aborted `main` stays Ready but is over.
                run = world.read(|w| ready(w) && w.view(main).lifecycle.restarts > restarts);
            }
        }
        Ok(())
    }

    /// Runs `main`'s compartment from its entry point until its `main` is over.
    pub fn run_main<W: Hold<Format = B::Format>>(
        &mut self,
        world: &mut W,
        main: ViewId,
    ) -> Result<(), String>
    where
        B::Format: Copy,
    {
        let k = self.cpu.vcpu();
        // A serial main owns its compartment while it runs (docs/gates.md "Manifest:
        // `concurrency` and `cpu`"): wait, without holding the world, until no other
        // vCPU's thread has it.
        while !world.with(|w| w.claim_main(main, k)) {
            core::hint::spin_loop();
        }
        world.with(|w| self.start(w, main))?;
        while self.step(world, main)? != Some(Flow::MainOver) {}
        world.with(|w| {
            w.set_running(k, None);
            w.end_thread(main, k);
        });
        Ok(())
    }

    /// Sets the vCPU up to run `main`'s compartment from its entry point, on an empty
    /// call stack (a new thread of control).
    pub fn start<M: Memory>(
        &mut self,
        world: &mut WorldOf<B, M>,
        main: ViewId,
    ) -> Result<(), String> {
        let (rip, rsp) = world
            .view(main)
            .start()
            .ok_or_else(|| alloc::format!("'{}' has no image to start", world.view(main).name()))?;
        let k = self.cpu.vcpu();
        world.reset_stacks_on(k);
        world.set_running(k, Some(main));
        world.set_info_word_on(k, main, tessera_abi::gate::info::MAIN, 1);
        // The memo holds entries checked against this world's rules only.
        self.accepted.fill(0);
        self.state = GuestState::default();
        self.cpu.reset(main, &mut self.state)?;
        self.state.set(Fields::RIP, rip);
        self.state.set(Fields::RSP, rsp);
        let now = self.cpu.now();
        self.dog.start_main(main.index(), now);
        self.cpu.set_trapped(self.dog.trapped());
        self.cpu.arm_watchdog(self.dog.timer(now));
        Ok(())
    }

    /// Enters the guest once and handles the exit: `Some` when the thread broke (and
    /// was repaired, or `main` is over). The watchdog's timer is armed for the next entry
    /// once the exit is handled (by [`Vcpu::start`] for the first). The world is held
    /// only while an exit is handled, never while the guest runs.
    #[inline(always)]
    pub fn step<W: Hold<Format = B::Format>>(
        &mut self,
        world: &mut W,
        main: ViewId,
    ) -> Result<Option<Flow>, String>
    where
        B::Format: Copy,
    {
        let mut lent = fast::Lent {
            cpu: self.cpu.vcpu(),
            world: &mut *world,
            accepted: &self.accepted,
            dog: &self.dog,
        };
        // Switches the fast path made inside `run` were counted there; this is the next
        // exit.
        let exit = self.cpu.run(&mut self.state, &mut lent)?;
        world.with(|w| self.handle(w, main, exit))
    }

    /// Handles one exit of thread `main` on this vCPU.
    #[inline(always)]
    fn handle<M: Memory>(
        &mut self,
        world: &mut WorldOf<B, M>,
        main: ViewId,
        exit: crate::backend::Exit,
    ) -> Result<Option<Flow>, String> {
        let thread = Thread {
            main,
            now: self.cpu.now(),
        };
        world.count_exit_on(self.cpu.vcpu());
        let current = self.cpu.current_view();
        if current.index() >= world.views.len() {
            return Err(alloc::format!(
                "the backend runs {current}, which is no view"
            ));
        }
        world.view_mut(current).stats.count_exit(exit.reason);
        if world.cpus() > 1
            && world.view(current).compartment.stopped()
            && !refusing(world, self.cpu.vcpu(), current, &exit.exit)
        {
            // Stopped on another vCPU, for its own fault there, while it ran here: this
            // thread unwinds it (its caller here gets CALLEE_FAILED), stopping nobody.
            // (With one vCPU a stopped view runs only its gate's refusal or stray path,
            // which the exits below handle as they always did.)
            let flow = self.repair(world, thread);
            return self.after(world, main, Some(flow)).map(|()| Some(flow));
        }
        let stops = world.counters.stops;
        let (stopped, untrap) = self.check_watchdog(world, thread, current);
        let flow = match (stopped, exit.exit) {
            (Some(flow), _) => Some(flow),
            // The emulated switch, the exit where the CPU has no VMFUNC: straight to it.
            (None, tessera_core::exit::VmExit::VmFuncUd { len }) => {
                self.on_vmfunc(world, thread, current, len)?
            }
            (None, exit) => self.on_exit(world, thread, current, exit)?,
        };
        // Only now: this exit may be a VMFUNC that trapped, to be emulated as such.
        if untrap {
            self.cpu.set_trapped(false);
        }
        if world.counters.stops != stops {
            // The stop barrier: every other vCPU running a thread exits and unwinds the
            // stopped view if it executes it there (the check above).
            let k = self.cpu.vcpu();
            for j in (0..world.cpus()).filter(|&j| j != k && world.running_on(j).is_some()) {
                self.cpu.kick(j);
            }
        }
        self.after(world, main, flow)?;
        Ok(flow)
    }

    /// What follows every handled exit: restarts that became possible once the thread
    /// was repaired (frames of stopped views may have left it), and the watchdog's timer
    /// for the next entry.
    #[inline(always)]
    fn after<M: Memory>(
        &mut self,
        world: &mut WorldOf<B, M>,
        main: ViewId,
        flow: Option<Flow>,
    ) -> Result<(), String> {
        // On SMP a restart may also wait for another vCPU's exit (the stop barrier), so
        // any exit may be the one that allows it.
        let waiting = world.cpus() > 1 && world.views.iter().any(|v| v.lifecycle.pending.is_some());
        if flow.is_some() || waiting {
            let cpu = &self.cpu;
            let thread = (cpu.vcpu(), main, flow == Some(Flow::MainOver));
            world.restart_ready(thread, &|| cpu.now())?;
        }
        self.cpu.arm_watchdog(self.dog.timer(self.cpu.now()));
        Ok(())
    }

    /// The watchdog's check at every exit: `Some` if it stopped the executing view, and
    /// whether hardware switching goes back on once this exit is handled.
    fn check_watchdog<M: Memory>(
        &mut self,
        world: &mut WorldOf<B, M>,
        thread: Thread,
        current: ViewId,
    ) -> (Option<Flow>, bool) {
        // Only the end of a hardware-mode period asks whether the main is at its base (a
        // state-page read), not every exit. At its base the main has no frame, or one: its
        // own pending call, whose gate code runs (it is about to switch, or a reply has
        // just landed; an emulated engine's period ends at such a VMFUNC exit more often
        // than not). A frame of a call into the main needs a call out of it below it (the
        // thread starts in the main), so one frame is never that; a main that forges its
        // own frames only chooses its own budget (the `main`'s, or an export's).
        let at_base = self.dog.period_over(thread.now)
            && current == thread.main
            && world.depth_on(self.cpu.vcpu(), current) <= 1;
        match self.dog.check(thread.now, current.index(), at_base) {
            Verdict::Continue => (None, false),
            Verdict::Trap => {
                log::debug!("watchdog period over: trapped switching");
                self.cpu.set_trapped(true);
                (None, false)
            }
            Verdict::Untrap => (None, true),
            Verdict::Overrun { view, budget, used } => {
                let details = alloc::format!("budget={budget} used={used}");
                let view = ViewId(view as u16);
                let flow = self.stop(world, thread, view, ("watchdog", &details));
                (Some(flow), false)
            }
        }
    }

    /// Guest RIP (read from the backend once per exit, when needed).
    pub fn rip(&mut self) -> u64 {
        self.field(Fields::RIP)
    }

    /// Guest RFLAGS.
    pub fn rflags(&mut self) -> u64 {
        self.field(Fields::RFLAGS)
    }

    fn field(&mut self, field: Fields) -> u64 {
        if let Some(value) = self.state.cached(field) {
            return value;
        }
        self.cpu.save(&mut self.state, field);
        self.state.cached(field).unwrap_or_default()
    }
}

/// Whether the stopped view `view`, executing on vCPU `cpu` at this exit, is switching
/// out of itself with no activation left on this vCPU: a `VMFUNC` out of it while it has
/// no frame here and is not this vCPU's `main`. That is its gate refusing a call (its
/// FAILED word: `CALLEE_FAILED`, or `RESTARTING` while L1 is to restart it), or a reply
/// whose IN frame the gate has just popped (a reply racing the stop on another vCPU, as it
/// could on hardware VMFUNC with no exit at all); a view that lowered its own DEPTH only
/// chooses this for itself. The switch goes on as the gate asked and the receiving gate
/// checks it as any other, so the caller gets the gate's own status. After it this vCPU
/// no longer executes the view (re-entering it goes through its gate, which reads
/// FAILED), so the exit may count for the restart barrier like any other. Every other
/// exit of a stopped view is unwound.
fn refusing<F: tessera_core::paging::EntryFormat, M: Memory>(
    world: &World<F, M>,
    cpu: usize,
    view: ViewId,
    exit: &tessera_core::exit::VmExit,
) -> bool {
    matches!(exit, tessera_core::exit::VmExit::VmFuncUd { .. })
        && world.depth_on(cpu, view) == 0
        && world.running_on(cpu) != Some(view)
}
