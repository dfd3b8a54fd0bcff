//! What a #UD exit is (VMFUNC-SEMANTICS.md, "What Tessera's emulation must do"): the
//! instruction at RIP is fetched byte by byte through the tables of the view pointer the
//! CPU is using (each byte must be executable there; a byte that is not is the fetch's
//! EPT violation / NPF, delivered as hardware would) and decoded by core, prefixes
//! included (docs/vmfunc.md). On AMD, VMCALL raises #UD and is the hypercall; QEMU TCG raises
//! #UD for ICEBP; and where the CPU does not switch views itself, VMFUNC is emulated with
//! core's model against the same EPTP list and rules the hardware path uses — but only at
//! the current view's own slot: anywhere else it is that view's own fault (DESIGN §6
//! property 2), whatever bytes it managed to execute.

use crate::backend::Backend;
use crate::regs::GuestRegs;
use crate::system::System;
use tessera_core::exit::{Access, Privileged, VmExit};
use tessera_core::paging::{EntryFormat, PageTable};
use tessera_core::protocol::{Decision, Message, emulated_switch_allowed};
use tessera_core::vmfunc::{self, MAX_LEN, UdInstruction, decode_ud};
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
    let len = match vmfunc_length(cpu, sys, rip) {
        Ok(len) => len,
        Err(other) => return other,
    };
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
        vmfunc::Outcome::Exit59 => Ud::Exit(VmExit::VmFunc { len }),
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
            cpu.set_view_index(index);
            cpu.set_rip(rip.wrapping_add(len));
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

/// The length of the VMFUNC at `rip` to emulate, or what else the #UD is.
fn vmfunc_length<B: Backend>(cpu: &B, sys: &Sys<B>, rip: u64) -> Result<u64, Ud> {
    let Some(table) = sys.tables_of(cpu.current_pointer()) else {
        return Err(Ud::Genuine);
    };
    // A fetch fault is what hardware would have raised, in this view, before any #UD.
    match fetch_and_decode(&table, rip).map_err(Ud::Exit)? {
        UdInstruction::Vmcall => Err(Ud::Hypercall),
        UdInstruction::Icebp => Err(Ud::Exit(VmExit::Privileged(Privileged::Icebp))),
        // More than 15 bytes: #GP(0), as the CPU raises it (SDM 2A §2.3.11).
        UdInstruction::TooLong => Err(Ud::Exit(VmExit::Exception {
            vector: 13,
            error_code: Some(0),
        })),
        UdInstruction::Other | UdInstruction::Incomplete => Err(Ud::Genuine),
        UdInstruction::Vmfunc { .. } if cpu.hardware_switching() => Err(Ud::Genuine),
        UdInstruction::Vmfunc { len } => Ok(u64::from(len)),
    }
}

/// Fetches the instruction at `rip` one byte at a time through `table`, as long as the
/// decoder needs more (never a byte past the instruction). `Err` is the fetch fault of
/// the first byte the view does not let the CPU fetch.
fn fetch_and_decode<F: EntryFormat>(
    table: &PageTable<F>,
    rip: u64,
) -> Result<UdInstruction, VmExit> {
    let mut bytes = [0u8; MAX_LEN];
    for n in 0..MAX_LEN {
        let at = rip.wrapping_add(n as u64);
        bytes[n] =
            crate::tables::fetch_byte(table, at).map_err(|allowed| VmExit::MemoryViolation {
                gpa: at,
                access: Access {
                    read: false,
                    write: false,
                    execute: true,
                },
                allowed,
            })?;
        let decoded = decode_ud(&bytes[..=n]);
        if decoded != UdInstruction::Incomplete {
            return Ok(decoded);
        }
    }
    Ok(UdInstruction::TooLong)
}
