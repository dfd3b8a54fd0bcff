//! Stopping a compartment and repairing the thread of control (DESIGN §6, properties 6
//! and 9). The only compartment ever stopped is the one the CPU was executing when its
//! own instruction faulted (or its own gate found its own state page corrupt, or its
//! activation overran its watchdog budget while it executed); whom to resume afterwards
//! is `tessera_core::contain::settle`'s decision, applied here.

use super::{Flow, Thread, Vcpu, WorldOf};
use crate::backend::{Backend, Fields, Gprs};
use crate::ids::ViewId;
use crate::port::Memory;
use core::fmt::Write as _;
use tessera_abi::gate;
use tessera_core::contain::{Resume, settle};
use tessera_core::outcome::Outcome;

/// RFLAGS a resumed caller gets: IF and the reserved bit 1; TF, DF, AC and the rest clear.
const RESUME_RFLAGS: u64 = 0x202;

impl<B: Backend> Vcpu<B> {
    /// Reports `@@FAULT` for the executing view `view`, stops it, and repairs the chain.
    /// The line ends with `offset=` when RIP lies in the view's own image: the address a
    /// tool finds in the image's symbol table (L1 prints no symbol names).
    pub(super) fn stop<M: Memory>(
        &mut self,
        world: &mut WorldOf<B, M>,
        thread: Thread,
        view: ViewId,
        (kind, details): (&'static str, &str),
    ) -> Flow {
        let rip = self.rip();
        world.console_flush(view);
        let faulty = world.view(view);
        let mut line = alloc::format!("@@FAULT compartment={} kind={kind}", faulty.name());
        if !details.is_empty() {
            line.push(' ');
            line.push_str(details);
        }
        let _ = write!(line, " rip={rip:#x}");
        if let Some(offset) = faulty.image_offset(rip) {
            let _ = write!(line, " offset={offset:#x}");
        }
        if world.cpus() > 1 {
            // On SMP: the vCPU where it faulted.
            line = tessera_core::report::with_cpu(&line, self.cpu.vcpu());
        }
        world.line(format_args!("{line}"));
        // A fault decides the outcome even after the main exited (its exports kept
        // running), until a restart (world/lifecycle.rs).
        world.fail(view, kind);
        // This vCPU is in L1 now, not inside the view's gate: the barrier is the others'.
        let k = self.cpu.vcpu();
        world
            .view_mut(view)
            .lifecycle
            .barrier
            .retain(|&(j, _)| j != k);
        self.repair(world, thread)
    }

    /// Resumes whoever `settle` chooses after the thread broke (a stop, or a reply nobody
    /// waited for).
    pub(super) fn repair<M: Memory>(&mut self, world: &mut WorldOf<B, M>, thread: Thread) -> Flow {
        let main = thread.main;
        let k = self.cpu.vcpu();
        let (resume, done) = settle(&mut world.on_cpu(k), main.index());
        // The views whose last frame on this vCPU went are no longer its own.
        world.release_idle(k);
        for &view in &done.abandoned {
            log::info!(
                "'{}' left an activation that can never run again: popped",
                world.views[view].name()
            );
        }
        match resume {
            Resume::Caller { view, rsp, status } => {
                let view = ViewId(view as u16);
                self.state.gprs = Gprs {
                    rdx: status,
                    ..Gprs::default()
                };
                self.cpu.switch_to(view);
                self.state
                    .set(Fields::RIP, gate::CODE + world.resume_offset);
                self.state.set(Fields::RSP, rsp);
                self.state.set(Fields::RFLAGS, RESUME_RFLAGS);
                self.cpu.clear_interrupt_shadow();
                self.cpu.clear_single_step(&mut self.state);
                self.dog.resumed(thread.now, view.index(), done.depth);
                let name = world.view(view).compartment.name.clone();
                log::info!("'{name}' resumed: its pending call returns status {status}");
                if world.cpus() > 1 {
                    // On SMP: the vCPU whose thread was repaired.
                    let k = self.cpu.vcpu();
                    world.line(format_args!(
                        "@@UNWIND resumed={name} status={status} cpu={k}"
                    ));
                } else {
                    world.line(format_args!("@@UNWIND resumed={name} status={status}"));
                }
                Flow::Resumed
            }
            Resume::MainOver => {
                let c = &mut world.view_mut(main).compartment;
                if c.outcome.is_none() {
                    // Its own run broke at its base (it broke the protocol), unstopped.
                    c.outcome = Some(Outcome::Aborted);
                    let name = c.name.clone();
                    world.line(format_args!("@@ABORT compartment={name} reason=protocol"));
                }
                Flow::MainOver
            }
        }
    }
}
