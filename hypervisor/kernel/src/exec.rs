//! The run loop, written once for every backend: each compartment's `main` in manifest
//! order; exits decoded by the backend and decided in core; hypercalls by the current
//! view; VMFUNC emulated where the CPU does not switch views itself (and, on AMD, VMCALL
//! recognised from its #UD); faults blamed and contained, and a failed callee's waiting
//! caller resumed with an error (DESIGN §6 property 6).

use crate::backend::Backend;
use crate::hypercalls::{self, After};
use crate::regs::GuestRegs;
use crate::system::{Status, System};
use alloc::string::String;
use tessera_abi::{error, gate, hypercall};
use tessera_core::contain::{blame, culprit, running, waiting_caller};
use tessera_core::exit::{Action, VmExit, decide};
use tessera_core::outcome::Outcome;
use tessera_core::vmfunc::{self, UdInstruction, decode_ud};

/// What happens after a compartment was stopped.
enum Flow {
    /// A waiting caller was resumed with an error: keep running.
    Resumed,
    /// The running `main` is over.
    MainOver,
}

type Sys<B> = System<<B as Backend>::Format>;

/// Stops `view` (already reported), then resumes whoever waits on it.
fn contain<B: Backend>(
    cpu: &mut B,
    sys: &mut Sys<B>,
    view: usize,
    main: usize,
    current: usize,
    kind: &'static str,
    regs: &mut GuestRegs,
) -> Flow {
    sys.views[view].console.flush();
    let waiting = waiting_caller(view, main, sys.views.len(), |v| sys.top_frame(v));
    sys.fail(view);
    if view == main {
        sys.views[main].outcome = Some(Outcome::Faulted(kind));
        return Flow::MainOver;
    }
    if sys.views[view].outcome.is_none() || sys.views[view].outcome == Some(Outcome::Exited(0)) {
        sys.views[view].outcome = Some(Outcome::Faulted(kind));
    }
    match waiting {
        Some((caller, frame)) => {
            sys.pop_frame(caller);
            *regs = GuestRegs::default();
            regs.rdx = gate::status::CALLEE_FAILED;
            cpu.load_view(caller, sys.views[caller].pointer);
            cpu.set_rip(gate::CODE + crate::gate::epilogue_offset());
            cpu.set_rsp(frame.saved_rsp);
            cpu.set_rflags(0x2);
            cpu.clear_interrupt_shadow();
            log::info!(
                "'{}' failed: '{}' gets CalleeFailed",
                sys.views[view].name,
                sys.views[caller].name
            );
            Flow::Resumed
        }
        // Nobody on the running chain waits on `view` (it was blamed from elsewhere):
        // the view that was running cannot go on either.
        None if current != view => contain(cpu, sys, current, main, current, "chain-broken", regs),
        None => {
            sys.views[main].outcome = Some(Outcome::Faulted("chain-broken"));
            Flow::MainOver
        }
    }
}

fn report<F: tessera_core::paging::EntryFormat>(
    sys: &System<F>,
    view: usize,
    current: usize,
    kind: &str,
    details: &str,
    rip: u64,
) {
    let name = &sys.views[view].name;
    if view == current {
        crate::sprintln!("@@FAULT compartment={name} kind={kind} {details} rip={rip:#x}");
    } else {
        let in_view = &sys.views[current].name;
        crate::sprintln!(
            "@@FAULT compartment={name} kind={kind} {details} rip={rip:#x} in_view={in_view}"
        );
    }
}

/// What a #UD turned out to be.
enum Ud {
    /// The hypercall instruction (on AMD, VMCALL raises #UD): handle it, length 3.
    Hypercall,
    /// An emulated VMFUNC switched views: resume.
    Switched,
    /// Continue as this exit: exit 59 (the record hardware produces), or the
    /// single-step #DB a switch with RFLAGS.TF raises.
    Exit(VmExit),
    /// A genuine #UD of the compartment.
    Genuine,
}

/// Decodes the instruction that raised #UD, fetched through the current view (it must be
/// executable there), and emulates VMFUNC with core's model against the same EPTP list
/// and rules the hardware path uses (VMFUNC-SEMANTICS.md, "What Tessera's emulation must
/// do").
fn on_ud<B: Backend>(cpu: &mut B, sys: &mut Sys<B>, current: usize, regs: &GuestRegs) -> Ud {
    let rip = cpu.rip();
    let view = &sys.views[current];
    let mut bytes = [0u8; 3];
    if !crate::tables::fetch_guest(&view.table, rip, &mut bytes) {
        return Ud::Genuine;
    }
    match decode_ud(&bytes) {
        UdInstruction::Vmcall => return Ud::Hypercall,
        UdInstruction::Other => return Ud::Genuine,
        UdInstruction::Vmfunc if cpu.hardware_switching() => return Ud::Genuine,
        UdInstruction::Vmfunc => {}
    }
    let inputs = vmfunc::Inputs {
        rax: regs.rax,
        rcx: regs.rcx,
        enabled: true,
        controls: 1,
        list: &sys.list,
        current: view.pointer,
        rules: sys.rules,
        same_walk_length: false,
    };
    match vmfunc::execute(&inputs) {
        vmfunc::Outcome::Ud => Ud::Genuine,
        vmfunc::Outcome::Exit59 => Ud::Exit(VmExit::VmFunc),
        vmfunc::Outcome::Switch { eptp, index } => {
            sys.emulated_switches += 1;
            let target = sys.view_of(eptp).unwrap_or(usize::from(index));
            cpu.load_view(target, eptp);
            cpu.set_rip(rip.wrapping_add(3));
            cpu.clear_interrupt_shadow();
            if cpu.rflags() & (1 << 8) != 0 {
                // The single-step #DB the instruction raises, as a trap after it.
                return Ud::Exit(VmExit::Exception {
                    vector: 1,
                    error_code: None,
                });
            }
            Ud::Switched
        }
    }
}

/// Conformance fixture: records how a `VMFUNC` ended (exit 59, #UD, a switch whose next
/// fetch faulted) and resumes after it. `true` if the exit was such a case.
fn conformance_step<B: Backend>(cpu: &mut B, sys: &mut Sys<B>, exit: &VmExit) -> bool {
    let base = sys.views[0].pointer;
    let current_pointer = cpu.current_pointer();
    let rip = cpu.rip();
    let Some(conf) = sys.conformance.as_mut() else {
        return false;
    };
    match exit {
        VmExit::VmFunc => {
            conf.pending = Some("exit59");
            cpu.set_rip(rip.wrapping_add(3));
            true
        }
        VmExit::Exception { vector: 6, .. } => {
            let mut bytes = [0u8; 4];
            if !crate::tables::fetch_guest(&sys.views[0].table, rip, &mut bytes) {
                return false;
            }
            // A VMFUNC, possibly with prefixes (case 17): skip the whole instruction.
            let Some(len) = tessera_core::decode::length_if(&bytes, &tessera_core::gate::VMFUNC)
            else {
                return false;
            };
            conf.pending = Some("ud");
            cpu.set_rip(rip.wrapping_add(len));
            true
        }
        VmExit::MemoryViolation { .. } if current_pointer == conf.unbacked => {
            conf.pending = Some("switch-fault");
            cpu.load_view(0, base);
            true
        }
        _ => false,
    }
}

/// `@@VMFUNC case=N ...` for the case the conformance compartment just ran.
fn conformance_report<F: tessera_core::paging::EntryFormat>(
    sys: &mut System<F>,
    pointer: u64,
    regs: &GuestRegs,
) {
    let slot = sys.slot_of(pointer).map_or(-1, |s| s as i64);
    let Some(conf) = sys.conformance.as_mut() else {
        return;
    };
    let outcome = conf.pending.take().unwrap_or("switch");
    crate::sprintln!(
        "@@VMFUNC case={} eax={:#x} ecx={:#x} rax={:#x} rcx={:#x} outcome={outcome} view={slot}",
        regs.rdi,
        regs.rsi as u32,
        regs.rdx as u32,
        regs.rsi,
        regs.rdx
    );
}

/// Fixture-only hypercalls (CONFORMANCE_REPORT, SWITCH_VIEW). `true` if handled.
fn fixture_hypercall<B: Backend>(cpu: &mut B, sys: &mut Sys<B>, regs: &mut GuestRegs) -> bool {
    if sys.conformance.is_none() {
        return false;
    }
    match regs.rax {
        hypercall::CONFORMANCE_REPORT => {
            conformance_report(sys, cpu.current_pointer(), regs);
            true
        }
        hypercall::SWITCH_VIEW => {
            // A hypervisor-mediated switch: what a design without VMFUNC costs.
            let entry = usize::try_from(regs.rdi)
                .ok()
                .and_then(|slot| sys.list.get(slot).copied())
                .filter(|e| tessera_core::paging::validate_eptp(*e, &sys.rules).is_ok());
            regs.rax = match entry {
                Some(pointer) => {
                    let view = sys.view_of(pointer).unwrap_or(0);
                    cpu.load_view(view, pointer);
                    0
                }
                None => error::BAD_STATE as u64,
            };
            true
        }
        _ => false,
    }
}

/// Instruction length of CPUID at RIP, decoded (never guessed); `fallback` if the bytes
/// cannot be fetched.
fn cpuid_length<F: tessera_core::paging::EntryFormat>(
    sys: &System<F>,
    current: usize,
    rip: u64,
    fallback: u64,
) -> u64 {
    let mut bytes = [0u8; 15];
    let mut n = 15;
    // Fetch as much as is executable (an instruction may end just before a page end).
    while n >= 2 && !crate::tables::fetch_guest(&sys.views[current].table, rip, &mut bytes[..n]) {
        n -= 1;
    }
    tessera_core::decode::length_if(&bytes[..n], &tessera_core::decode::CPUID).unwrap_or(fallback)
}

/// The compartment really running (`tessera_core::contain::running`).
fn running_view<F: tessera_core::paging::EntryFormat>(sys: &System<F>, main: usize) -> usize {
    running(main, sys.views.len(), |v| sys.top_frame(v))
}

/// Runs every compartment's `main`. `Err` is an L1 failure (the boot fails).
pub fn run_all<B: Backend>(cpu: &mut B, sys: &mut Sys<B>) -> Result<(), String> {
    for main in 0..sys.views.len() {
        if sys.views[main].status != Status::Ready {
            continue;
        }
        let v = &sys.views[main];
        cpu.start(v.entry, v.stack_top - 8, main, v.pointer)?;
        let mut regs = GuestRegs::default();
        loop {
            let exit = cpu.run(&mut regs)?;
            sys.exits += 1;
            let mut current = sys
                .view_of(cpu.current_pointer())
                .ok_or("the loaded view pointer names no view")?;
            sys.views[current].stats.count_exit(exit.reason);
            let mut decoded = exit.exit;
            if decoded
                == (VmExit::Exception {
                    vector: 6,
                    error_code: None,
                })
            {
                match on_ud(cpu, sys, current, &regs) {
                    Ud::Switched => continue,
                    Ud::Hypercall => decoded = VmExit::Hypercall { len: 3 },
                    Ud::Exit(synthetic) => {
                        decoded = synthetic;
                        current = sys
                            .view_of(cpu.current_pointer())
                            .ok_or("the loaded view pointer names no view")?;
                    }
                    Ud::Genuine => {}
                }
            }
            if decoded == VmExit::SoftwareInterrupt {
                let mut bytes = [0u8; 2];
                let rip = cpu.rip();
                if !crate::tables::fetch_guest(&sys.views[current].table, rip, &mut bytes) {
                    bytes = [0, 0];
                }
                decoded = tessera_core::exit::software_interrupt(&bytes);
            }
            if conformance_step(cpu, sys, &decoded) {
                continue;
            }
            let rip = cpu.rip();
            let flow = match decide(&decoded) {
                Action::Resume => None,
                Action::Cpuid { len } => {
                    cpuid(&mut regs);
                    let len = cpuid_length(sys, current, rip, len);
                    cpu.set_rip(rip.wrapping_add(len));
                    None
                }
                Action::Hypercall { len } if fixture_hypercall(cpu, sys, &mut regs) => {
                    cpu.set_rip(rip.wrapping_add(len));
                    None
                }
                Action::Hypercall { len } => {
                    match hypercalls::handle(sys, current, main, &mut regs) {
                        After::Resume => {
                            cpu.set_rip(rip.wrapping_add(len));
                            None
                        }
                        After::MainExited(code) => {
                            let view = &mut sys.views[main];
                            view.outcome = Some(Outcome::Exited(code));
                            view.status = Status::Done;
                            Some(Flow::MainOver)
                        }
                        After::Fault {
                            view,
                            kind,
                            details,
                        } => {
                            let view = blame(view, current, running_view(sys, main));
                            report(sys, view, current, kind, &details, rip);
                            Some(contain(cpu, sys, view, main, current, kind, &mut regs))
                        }
                    }
                }
                Action::Fault(fault) => {
                    let candidate = culprit(current, rip, |a| sys.owner(a));
                    let blamed = blame(candidate, current, running_view(sys, main));
                    report(sys, blamed, current, fault.kind, &fault.details, rip);
                    Some(contain(
                        cpu, sys, blamed, main, current, fault.kind, &mut regs,
                    ))
                }
                Action::Bug(reason) => {
                    return Err(alloc::format!("{}: {reason}", sys.views[current].name));
                }
            };
            if let Some(Flow::MainOver) = flow {
                break;
            }
        }
    }
    Ok(())
}

/// CPUID as compartments see it (`tessera_core::exit::guest_cpuid`); the subleaf in RCX
/// is passed through to the host's leaves 0 and 1, which ignore it.
fn cpuid(regs: &mut GuestRegs) {
    let subleaf = regs.rcx as u32;
    let [a, b, c, d] =
        tessera_core::exit::guest_cpuid(regs.rax as u32, |leaf| crate::cpu::cpuid(leaf, subleaf));
    regs.rax = a.into();
    regs.rbx = b.into();
    regs.rcx = c.into();
    regs.rdx = d.into();
}
