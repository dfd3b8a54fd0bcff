//! The emulated `VMFUNC` (VMFUNC-SEMANTICS.md, "What Tessera's emulation must do"): where
//! the CPU does not switch views itself, the backend reports a `VMFUNC` that raised #UD
//! (with its length, prefixes included) and the engine applies core's model against the
//! same EPTP list and rules the hardware path uses — but only at the current view's own
//! slot: anywhere else it is that view's own fault (DESIGN §6 property 2).

use super::{Flow, Thread, Vcpu, WorldOf};
use crate::backend::{Backend, Fields};
use crate::ids::ViewId;
use crate::port::Memory;
use alloc::string::String;
use tessera_core::exit::VmExit;
use tessera_core::protocol::{Decision, Message, emulated_switch_allowed};
use tessera_core::vmfunc::{self, Inputs, Outcome};
use tessera_core::watchdog::Switch;

impl<B: Backend> Vcpu<B> {
    /// The `len`-byte `VMFUNC` at RIP in view `current`.
    #[inline]
    pub(super) fn on_vmfunc<M: Memory>(
        &mut self,
        world: &mut WorldOf<B, M>,
        thread: Thread,
        current: ViewId,
        len: u64,
    ) -> Result<Option<Flow>, String> {
        let rip = self.rip();
        if !emulated_switch_allowed(rip, u64::from(current.0), false) {
            return self.on_exit(world, thread, current, VmExit::VmFuncOutsideSlot);
        }
        let regs = &self.state.gprs;
        let known = self.accepted[regs.rcx as u32 as usize % 512];
        // This vCPU's list and roots (docs/gates.md "Per-vCPU views").
        let k = self.cpu.vcpu();
        let inputs = Inputs {
            rax: regs.rax,
            rcx: regs.rcx,
            enabled: true,
            controls: 1,
            list: world.list(k),
            current: world.view(current).pointer(k),
            rules: world.rules,
            same_walk_length: false,
        };
        let index = match vmfunc::execute_known(&inputs, known) {
            Outcome::Switch { index, eptp } => {
                self.accepted[usize::from(index)] = eptp;
                index
            }
            Outcome::Ud => {
                let ud = VmExit::Exception {
                    vector: 6,
                    error_code: None,
                };
                return self.on_exit(world, thread, current, ud);
            }
            Outcome::Exit59 => return self.on_exit(world, thread, current, VmExit::VmFunc { len }),
        };
        let target = world
            .at_slot(k, index)
            .ok_or_else(|| alloc::format!("EPTP list slot {index} holds no view"))?;
        world.counters.emulated_switches += 1;
        // Untrapped, the watchdog charges nothing and needs no decision of the receiving
        // gate (as with hardware VMFUNC, where L1 does not see the switch at all).
        if self.dog.trapped() {
            let regs = &self.state.gprs;
            let msg = Message {
                source: u64::from(current.0),
                op: regs.r12,
                word: regs.rbx,
                at: regs.r14,
            };
            let what = match world.receiving_gate(k, target, &msg) {
                Decision::Accept(_) => Switch::Call,
                Decision::Resume => Switch::Reply {
                    // Read only where the watchdog uses it (a reply it did not see the
                    // call of).
                    at_base: !self.dog.reply_completes(current.index(), target.index())
                        && target == thread.main
                        && world.depth_on(k, target) == 1,
                },
                Decision::Refuse(_) | Decision::Stray => Switch::Other,
            };
            self.dog
                .switched(thread.now, current.index(), target.index(), what);
        }
        self.cpu.switch_to(target);
        self.state.set(Fields::RIP, rip.wrapping_add(len));
        self.cpu.clear_interrupt_shadow();
        // Whatever debug state the source left is not the target's (property 9): the
        // single-step trap a switch with RFLAGS.TF raises is never delivered, on hardware
        // (L1 intercepts #DB and clears it) or here.
        self.cpu.clear_single_step(&mut self.state);
        Ok(None)
    }
}
