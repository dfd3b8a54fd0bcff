//! Stopping a compartment and repairing the thread of control (DESIGN §6, properties 6
//! and 9). The only compartment ever stopped is the one the CPU was executing when its
//! own instruction faulted (or its own gate found its own state page corrupt, or its
//! activation overran its watchdog budget while it executed); whom to resume afterwards
//! is `tessera_core::contain::settle`'s decision, applied here.

use crate::backend::Backend;
use crate::regs::GuestRegs;
use crate::system::System;
use tessera_abi::gate;
use tessera_core::contain::{Resume, settle};
use tessera_core::outcome::Outcome;
use tessera_core::watchdog::Watchdog;

type Sys<B> = System<<B as Backend>::Format>;

/// Whether the thread goes on after a repair.
pub enum Flow {
    /// A waiting caller was resumed with an error: keep running.
    Resumed,
    /// The running `main` is over.
    MainOver,
}

/// The thread of one `main`: which view started it, and the TSC now.
#[derive(Debug, Clone, Copy)]
pub struct Thread {
    pub main: usize,
    pub now: u64,
}

/// Reports `@@FAULT` for the executing view `current`, stops it, and repairs the chain.
#[allow(clippy::too_many_arguments)]
pub fn stop<B: Backend>(
    cpu: &mut B,
    sys: &mut Sys<B>,
    dog: &mut Watchdog,
    thread: Thread,
    current: usize,
    (kind, details): (&'static str, &str),
    regs: &mut GuestRegs,
) -> Flow {
    let rip = cpu.rip();
    let view = &mut sys.views[current];
    view.console.flush();
    crate::sprintln!(
        "@@FAULT compartment={} kind={kind} {details} rip={rip:#x}",
        view.name
    );
    // A fault decides the outcome even after the main exited (its exports kept running).
    view.outcome = Some(Outcome::Faulted(kind));
    sys.fail(current);
    repair(cpu, sys, dog, thread, regs)
}

/// Resumes whoever `settle` chooses after the thread broke (a stop, or a reply nobody
/// waited for).
pub fn repair<B: Backend>(
    cpu: &mut B,
    sys: &mut Sys<B>,
    dog: &mut Watchdog,
    thread: Thread,
    regs: &mut GuestRegs,
) -> Flow {
    let main = thread.main;
    let (resume, done) = settle(sys, main);
    for &view in &done.abandoned {
        log::info!(
            "'{}' left an activation that can never run again: popped",
            sys.views[view].name
        );
    }
    match resume {
        Resume::Caller { view, rsp, status } => {
            *regs = GuestRegs::default();
            regs.rdx = status;
            cpu.load_view(view, sys.views[view].pointer);
            cpu.set_rip(gate::CODE + crate::gate::resume_offset());
            cpu.set_rsp(rsp);
            cpu.set_rflags(0x202);
            cpu.clear_interrupt_shadow();
            cpu.clear_single_step();
            dog.resumed(thread.now, view, done.depth);
            log::info!(
                "'{}' resumed: its pending call returns status {status}",
                sys.views[view].name
            );
            crate::sprintln!("@@UNWIND resumed={} status={status}", sys.views[view].name);
            Flow::Resumed
        }
        Resume::MainOver => {
            let view = &mut sys.views[main];
            if view.outcome.is_none() {
                // Its own run broke at its base (it broke the protocol), unstopped.
                view.outcome = Some(Outcome::Aborted);
                crate::sprintln!("@@ABORT compartment={} reason=protocol", view.name);
            }
            Flow::MainOver
        }
    }
}
