//! One method per exit class. Core decides what each exit means
//! (`tessera_core::exit::decide`); these act on it.

use super::{Flow, Thread, Vcpu, WorldOf};
use crate::backend::{Backend, Fields};
use crate::hypercall::{self, After};
use crate::ids::ViewId;
use crate::port::Memory;
use crate::world::Status;
use alloc::string::String;
use tessera_core::exit::{Action, VmExit, decide};
use tessera_core::outcome::Outcome;

impl<B: Backend> Vcpu<B> {
    /// Handles one exit of view `current`; `Some` when the thread broke and was
    /// repaired.
    #[inline(always)]
    pub(super) fn on_exit<M: Memory>(
        &mut self,
        world: &mut WorldOf<B, M>,
        thread: Thread,
        current: ViewId,
        exit: VmExit,
    ) -> Result<Option<Flow>, String> {
        if let VmExit::VmFuncUd { len } = exit {
            return self.on_vmfunc(world, thread, current, len);
        }
        match decide(&exit) {
            Action::Resume => Ok(None),
            Action::ClearSingleStep => {
                self.cpu.clear_single_step(&mut self.state);
                Ok(None)
            }
            Action::Cpuid { len } => {
                self.on_cpuid(len);
                Ok(None)
            }
            Action::Hypercall { len } => Ok(self.on_hypercall(world, thread, current, len)),
            Action::Fault(fault) => Ok(Some(self.stop(
                world,
                thread,
                current,
                (fault.kind, &fault.details),
            ))),
            Action::Bug(reason) => Err(alloc::format!("{}: {reason}", world.view(current).name())),
        }
    }

    /// CPUID as compartments see it (`tessera_core::exit::guest_cpuid`); the subleaf in
    /// RCX is passed through to the host's leaves 0 and 1, which ignore it.
    fn on_cpuid(&mut self, len: u64) {
        let regs = &mut self.state.gprs;
        let subleaf = regs.rcx as u32;
        let cpu = &self.cpu;
        let [a, b, c, d] =
            tessera_core::exit::guest_cpuid(regs.rax as u32, |leaf| cpu.host_cpuid(leaf, subleaf));
        regs.rax = a.into();
        regs.rbx = b.into();
        regs.rcx = c.into();
        regs.rdx = d.into();
        self.skip(len);
    }

    /// A hypercall of view `current`.
    #[inline(always)]
    fn on_hypercall<M: Memory>(
        &mut self,
        world: &mut WorldOf<B, M>,
        thread: Thread,
        current: ViewId,
        len: u64,
    ) -> Option<Flow> {
        match hypercall::handle(
            world,
            (current, self.cpu.vcpu()),
            thread.main,
            &mut self.state.gprs,
        ) {
            After::Resume => {
                self.skip(len);
                None
            }
            After::MainExited(code) => {
                let c = &mut world.view_mut(thread.main).compartment;
                c.outcome = Some(Outcome::Exited(code));
                c.status = Status::Done;
                Some(Flow::MainOver)
            }
            After::Stop { kind, details } => {
                Some(self.stop(world, thread, current, (kind, &details)))
            }
            After::Repair => Some(self.repair(world, thread)),
        }
    }

    /// Resumes after the `len`-byte instruction at RIP (an emulated instruction
    /// completed: STI / MOV-SS blocking ends with it).
    pub(super) fn skip(&mut self, len: u64) {
        let rip = self.rip();
        self.state.set(Fields::RIP, rip.wrapping_add(len));
    }
}
