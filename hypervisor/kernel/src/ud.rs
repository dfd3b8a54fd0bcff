//! What a #UD exit is (VMFUNC-SEMANTICS.md, "What Tessera's emulation must do"): the
//! instruction at RIP is fetched through the current view (it must be executable there)
//! and decoded by core. On AMD, VMCALL raises #UD and is the hypercall; QEMU TCG raises
//! #UD for ICEBP; and where the CPU does not switch views itself, VMFUNC is emulated with
//! core's model against the same EPTP list and rules the hardware path uses — but only at
//! the current view's own slot: anywhere else it is that view's own fault (DESIGN §6
//! property 2), whatever bytes it managed to execute.

use crate::backend::Backend;
use crate::regs::GuestRegs;
use crate::system::System;
use tessera_core::exit::{Privileged, VmExit};
use tessera_core::protocol::{Decision, Message, emulated_switch_allowed};
use tessera_core::vmfunc::{self, UdInstruction, decode_ud};
use tessera_core::watchdog::{Switch, Watchdog};

/// What a #UD turned out to be.
pub enum Ud {
    /// The hypercall instruction (on AMD, VMCALL raises #UD): handle it, length 3.
    Hypercall,
    /// An emulated VMFUNC switched views: resume.
    Switched,
    /// Continue as this exit: exit 59 (the record hardware produces), the single-step
    /// trap a switch with RFLAGS.TF raises, ICEBP, or a VMFUNC outside the own slot.
    Exit(VmExit),
    /// A genuine #UD of the compartment.
    Genuine,
}

type Sys<B> = System<<B as Backend>::Format>;

/// Decodes the #UD at RIP in view `current` and emulates VMFUNC; `now` is the TSC (a
/// switch is an event of the watchdog's activation stack, see `tessera_core::watchdog`).
pub fn on_ud<B: Backend>(
    cpu: &mut B,
    sys: &mut Sys<B>,
    dog: &mut Watchdog,
    (current, main, now): (usize, usize, u64),
    regs: &GuestRegs,
) -> Ud {
    let rip = cpu.rip();
    let table = &sys.views[current].table;
    let mut bytes = [0u8; 3];
    let fetched = if crate::tables::fetch_guest(table, rip, &mut bytes) {
        &bytes[..]
    } else if crate::tables::fetch_guest(table, rip, &mut bytes[..1]) {
        &bytes[..1] // a one-byte instruction at the end of the executable range
    } else {
        return Ud::Genuine;
    };
    match decode_ud(fetched) {
        UdInstruction::Vmcall => return Ud::Hypercall,
        UdInstruction::Icebp => return Ud::Exit(VmExit::Privileged(Privileged::Icebp)),
        UdInstruction::Other => return Ud::Genuine,
        UdInstruction::Vmfunc if cpu.hardware_switching() => return Ud::Genuine,
        UdInstruction::Vmfunc => {}
    }
    let fixture = sys.conformance.is_some();
    if !emulated_switch_allowed(rip, current as u64, fixture) {
        return Ud::Exit(VmExit::VmFuncOutsideSlot);
    }
    let inputs = vmfunc::Inputs {
        rax: regs.rax,
        rcx: regs.rcx,
        enabled: true,
        controls: 1,
        list: &sys.list,
        current: sys.views[current].pointer,
        rules: sys.rules,
        same_walk_length: false,
    };
    match vmfunc::execute(&inputs) {
        vmfunc::Outcome::Ud => Ud::Genuine,
        vmfunc::Outcome::Exit59 => Ud::Exit(VmExit::VmFunc),
        vmfunc::Outcome::Switch { eptp, index } => {
            sys.emulated_switches += 1;
            let target = sys.view_of(eptp).unwrap_or(usize::from(index));
            if !fixture {
                let msg = Message {
                    source: current as u64,
                    op: regs.r12,
                    word: regs.rbx,
                    at: regs.r14,
                };
                let what = match sys.receiving_gate(target, &msg) {
                    Decision::Accept(_) => Switch::Call,
                    Decision::Resume => Switch::Reply {
                        at_base: target == main && sys.depth_of(target) == 1,
                    },
                    Decision::Refuse(_) | Decision::Stray => Switch::Other,
                };
                dog.switched(now, current, target, what);
            }
            cpu.load_view(target, eptp);
            cpu.set_rip(rip.wrapping_add(3));
            cpu.clear_interrupt_shadow();
            let trap = cpu.rflags() & (1 << 8) != 0;
            // Whatever debug state the source left is not the target's (property 9).
            cpu.clear_single_step();
            if trap {
                // The single-step #DB the instruction raises, as a trap after it: never
                // fatal either, but reported through the same path as on hardware.
                return Ud::Exit(VmExit::SingleStep);
            }
            Ud::Switched
        }
    }
}
