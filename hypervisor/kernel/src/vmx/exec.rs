//! The VMX run loop: each compartment's `main` in manifest order; exits decoded and
//! decided in core; hypercalls by the current view; faults blamed and contained, and a
//! failed callee's waiting caller resumed with an error (DESIGN §6 property 6).

use super::instr::{vmread, vmwrite};
use super::run::{GuestRegs, enter};
use super::vmcs::Vmcs;
use crate::hypercalls::{self, After};
use crate::system::{Status, System};
use alloc::string::String;
use tessera_abi::gate;
use tessera_core::caps::VmxCaps;
use tessera_core::contain::{culprit, waiting_caller};
use tessera_core::exit::{Action, VmExit, decide};
use tessera_core::outcome::Outcome;
use tessera_core::vmfunc::{self, UdInstruction, decode_ud};
use tessera_core::vmx::exit::{RawExit, decode, reason_name};
use tessera_core::vmx::fields;

fn read(field: u32) -> u64 {
    vmread(field).unwrap_or(0)
}

fn write(field: u32, value: u64) {
    // SAFETY: the run loop only writes guest RIP/RSP/RFLAGS, the interruptibility state,
    // the preemption timer and the EPT pointer of a view L1 built; none of them reach
    // L1 memory that the guest could use.
    let _ = unsafe { vmwrite(field, value) };
}

fn raw_exit(regs: &GuestRegs) -> RawExit {
    RawExit {
        reason: read(fields::EXIT_REASON) as u32,
        qualification: read(fields::EXIT_QUALIFICATION),
        interruption_info: read(fields::EXIT_INTERRUPTION_INFO) as u32,
        interruption_error: read(fields::EXIT_INTERRUPTION_ERROR_CODE) as u32,
        instruction_len: read(fields::EXIT_INSTRUCTION_LENGTH),
        guest_physical: read(fields::GUEST_PHYSICAL_ADDRESS),
        rcx: regs.rcx,
    }
}

/// What happens after a compartment was stopped.
enum Flow {
    /// A waiting caller was resumed with an error: keep running.
    Resumed,
    /// The running `main` is over.
    MainOver,
}

/// Stops `view` (already reported), then resumes whoever waits on it.
fn contain(
    sys: &mut System,
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
            write(fields::EPT_POINTER, sys.views[caller].eptp);
            write(
                fields::GUEST_RIP,
                gate::CODE + crate::gate::epilogue_offset(),
            );
            write(fields::GUEST_RSP, frame.saved_rsp);
            write(fields::GUEST_RFLAGS, 0x2);
            write(fields::GUEST_INTERRUPTIBILITY, 0);
            log::info!(
                "'{}' failed: '{}' gets CalleeFailed",
                sys.views[view].name,
                sys.views[caller].name
            );
            Flow::Resumed
        }
        // Nobody on the running chain waits on `view` (it was blamed from elsewhere):
        // the view that was running cannot go on either.
        None if current != view => contain(sys, current, main, current, "chain-broken", regs),
        None => {
            sys.views[main].outcome = Some(Outcome::Faulted("chain-broken"));
            Flow::MainOver
        }
    }
}

fn report(sys: &System, view: usize, current: usize, kind: &str, details: &str, rip: u64) {
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

/// What the emulation path made of a #UD.
enum Emulated {
    /// A switch: the view is loaded and RIP advanced; resume.
    Switched,
    /// Continue as this exit: exit 59 (the same record hardware produces), or the
    /// single-step #DB a switch with RFLAGS.TF raises.
    Exit(RawExit),
    /// Not a VMFUNC, or VMFUNC's own #UD: the exception stands.
    NotVmfunc,
}

/// The #UD-trap emulation of VMFUNC (VMFUNC-SEMANTICS.md "What Tessera's emulation must
/// do"): fetch the bytes at RIP through the current view (they must be executable there),
/// decode exactly, apply the model against the same EPTP list and rules as hardware.
fn emulate_vmfunc(sys: &mut System, current: usize, regs: &GuestRegs, rip: u64) -> Emulated {
    let view = &sys.views[current];
    let mut bytes = [0u8; 3];
    if !crate::tables::fetch_guest(&view.ept, rip, &mut bytes) {
        return Emulated::NotVmfunc;
    }
    if decode_ud(&bytes) != UdInstruction::Vmfunc {
        return Emulated::NotVmfunc;
    }
    let inputs = vmfunc::Inputs {
        rax: regs.rax,
        rcx: regs.rcx,
        enabled: true,
        controls: 1,
        list: &sys.list,
        current: view.eptp,
        rules: sys.rules,
        same_walk_length: false,
    };
    match vmfunc::execute(&inputs) {
        vmfunc::Outcome::Ud => Emulated::NotVmfunc,
        vmfunc::Outcome::Exit59 => Emulated::Exit(RawExit {
            reason: 59,
            instruction_len: 3,
            rcx: regs.rcx,
            ..RawExit::default()
        }),
        vmfunc::Outcome::Switch { eptp, .. } => {
            sys.emulated_switches += 1;
            write(fields::EPT_POINTER, eptp);
            write(fields::GUEST_RIP, rip.wrapping_add(3));
            // A completed instruction ends STI / MOV-SS blocking (bits 0 and 1).
            write(
                fields::GUEST_INTERRUPTIBILITY,
                read(fields::GUEST_INTERRUPTIBILITY) & !3,
            );
            if read(fields::GUEST_RFLAGS) & (1 << 8) != 0 {
                // The single-step #DB the instruction raises as a trap after it:
                // hardware exception (type 3), vector 1, valid.
                return Emulated::Exit(RawExit {
                    reason: 0,
                    interruption_info: 0x8000_0301,
                    ..RawExit::default()
                });
            }
            Emulated::Switched
        }
    }
}

/// Conformance fixture: records how a `VMFUNC` ended (exit 59, #UD, a switch whose next
/// fetch faulted) and resumes after it. `true` if the exit was such a case.
fn conformance_step(sys: &mut System, raw: &RawExit, rip: u64) -> bool {
    let base = sys.views[0].eptp;
    let Some(conf) = sys.conformance.as_mut() else {
        return false;
    };
    match decode(raw) {
        VmExit::VmFunc => {
            conf.pending = Some("exit59");
            write(fields::GUEST_RIP, rip.wrapping_add(3));
            true
        }
        VmExit::Exception { vector: 6, .. } => {
            let mut bytes = [0u8; 4];
            if !crate::tables::fetch_guest(&sys.views[0].ept, rip, &mut bytes) {
                return false;
            }
            let len = if bytes[..3] == tessera_core::gate::VMFUNC {
                3
            } else if matches!(bytes[0], 0x66 | 0xF2 | 0xF3)
                && bytes[1..] == tessera_core::gate::VMFUNC
            {
                4
            } else {
                return false;
            };
            conf.pending = Some("ud");
            write(fields::GUEST_RIP, rip.wrapping_add(len));
            true
        }
        VmExit::MemoryViolation { .. } if read(fields::EPT_POINTER) == conf.unbacked => {
            conf.pending = Some("switch-fault");
            write(fields::EPT_POINTER, base);
            true
        }
        _ => false,
    }
}

/// `@@VMFUNC case=N ...` for the case the conformance compartment just ran.
fn conformance_report(sys: &mut System, regs: &GuestRegs) {
    let eptp = read(fields::EPT_POINTER);
    let slot = sys.slot_of(eptp).map_or(-1, |s| s as i64);
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

/// Runs every compartment's `main`. `Err` is an L1 failure (the boot fails).
pub fn run_all(
    vmcs: &mut Vmcs,
    caps: &VmxCaps,
    sys: &mut System,
    watchdog: Option<u64>,
    emulate: bool,
) -> Result<(), String> {
    for main in 0..sys.views.len() {
        if sys.views[main].status != Status::Ready {
            continue;
        }
        let (entry, rsp, eptp) = (
            sys.views[main].entry,
            sys.views[main].stack_top - 8,
            sys.views[main].eptp,
        );
        vmcs.start_guest(caps, entry, rsp, eptp)
            .map_err(|e| alloc::format!("vmcs-guest-state {e:?}"))?;
        super::instr::invept_all().map_err(|e| alloc::format!("invept {e:?}"))?;
        let mut regs = GuestRegs::default();
        loop {
            if let Some(ticks) = watchdog {
                write(fields::PREEMPTION_TIMER_VALUE, ticks);
            }
            // SAFETY: the VMCS holds this kernel's host state and a guest confined to views
            // L1 built; `launched` is tracked here.
            unsafe { enter(&mut regs, vmcs.launched) }
                .map_err(|e| alloc::format!("vm-entry-instruction-failed {e:?}"))?;
            vmcs.launched = true;
            let mut raw = raw_exit(&regs);
            sys.exits += 1;
            let mut current = sys
                .view_of(read(fields::EPT_POINTER))
                .ok_or("the EPT pointer names no view")?;
            sys.views[current]
                .stats
                .count_exit(reason_name(raw.reason & 0xFFFF));
            let mut rip = read(fields::GUEST_RIP);
            let ud = VmExit::Exception {
                vector: 6,
                error_code: None,
            };
            if emulate && decode(&raw) == ud {
                match emulate_vmfunc(sys, current, &regs, rip) {
                    Emulated::Switched => continue,
                    Emulated::Exit(synthetic) => {
                        raw = synthetic;
                        current = sys
                            .view_of(read(fields::EPT_POINTER))
                            .ok_or("the EPT pointer names no view")?;
                        rip = read(fields::GUEST_RIP);
                    }
                    Emulated::NotVmfunc => {}
                }
            }
            if conformance_step(sys, &raw, rip) {
                continue;
            }
            let flow = match decide(&decode(&raw)) {
                Action::Resume => None,
                Action::Cpuid { len } => {
                    cpuid(&mut regs);
                    write(fields::GUEST_RIP, rip.wrapping_add(len));
                    None
                }
                Action::Hypercall { len }
                    if sys.conformance.is_some()
                        && regs.rax == tessera_abi::hypercall::CONFORMANCE_REPORT =>
                {
                    conformance_report(sys, &regs);
                    write(fields::GUEST_RIP, rip.wrapping_add(len));
                    None
                }
                Action::Hypercall { len }
                    if sys.conformance.is_some()
                        && regs.rax == tessera_abi::hypercall::SWITCH_VIEW =>
                {
                    // A hypervisor-mediated switch: what a design without VMFUNC costs.
                    let entry = usize::try_from(regs.rdi)
                        .ok()
                        .and_then(|slot| sys.list.get(slot).copied())
                        .filter(|e| tessera_core::paging::validate_eptp(*e, &sys.rules).is_ok());
                    regs.rax = match entry {
                        Some(eptp) => {
                            write(fields::EPT_POINTER, eptp);
                            0
                        }
                        None => tessera_abi::error::BAD_STATE as u64,
                    };
                    write(fields::GUEST_RIP, rip.wrapping_add(len));
                    None
                }
                Action::Hypercall { len } => {
                    match hypercalls::handle(sys, current, main, &mut regs) {
                        After::Resume => {
                            write(fields::GUEST_RIP, rip.wrapping_add(len));
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
                            report(sys, view, current, kind, &details, rip);
                            Some(contain(sys, view, main, current, kind, &mut regs))
                        }
                    }
                }
                Action::Fault(fault) => {
                    let blamed = culprit(current, rip, |a| sys.owner(a));
                    report(sys, blamed, current, fault.kind, &fault.details, rip);
                    Some(contain(sys, blamed, main, current, fault.kind, &mut regs))
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

/// CPUID as compartments see it: the vendor and basic leaves, with VMX and the
/// hypervisor bits hidden; everything else reads as zero.
fn cpuid(regs: &mut GuestRegs) {
    let leaf = regs.rax as u32;
    let [mut a, b, mut c, d] = match leaf {
        0 | 1 => crate::cpu::cpuid(leaf, regs.rcx as u32),
        _ => [0; 4],
    };
    if leaf == 0 {
        a = a.min(1);
    }
    if leaf == 1 {
        c &= !((1 << 5) | (1 << 31));
    }
    regs.rax = a.into();
    regs.rbx = b.into();
    regs.rcx = c.into();
    regs.rdx = d.into();
}
