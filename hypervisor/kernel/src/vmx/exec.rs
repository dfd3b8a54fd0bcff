//! Running one compartment on the VMX backend until it ends: enter, decode the exit in
//! core, apply core's policy, handle hypercalls, report faults.

use super::instr::vmread;
use super::run::{GuestRegs, enter};
use super::vmcs::Vmcs;
use crate::compartment::Compartment;
use crate::stats::Stats;
use tessera_abi::{error, hypercall};
use tessera_core::caps::VmxCaps;
use tessera_core::exit::{Action, VmExit, decide};
use tessera_core::outcome::{Outcome, encode_value};
use tessera_core::vmx::exit::{RawExit, decode, reason_name};
use tessera_core::vmx::fields;

/// How a run ended from L1's point of view.
#[derive(Debug)]
pub enum RunEnd {
    /// The compartment ended (exit, contained fault).
    Ended(Outcome),
    /// L1 itself failed (VM entry failure, EPT misconfiguration): the boot fails.
    Bug(alloc::string::String),
}

fn read(field: u32) -> u64 {
    vmread(field).unwrap_or(0)
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

fn skip(len: u64) {
    let rip = read(fields::GUEST_RIP);
    // SAFETY: advancing the guest RIP past the instruction that exited only changes where
    // the confined guest resumes.
    let _ = unsafe { super::instr::vmwrite(fields::GUEST_RIP, rip.wrapping_add(len)) };
}

/// Runs `c` from its entry point until it ends.
pub fn run(
    vmcs: &mut Vmcs,
    caps: &VmxCaps,
    c: &Compartment,
    watchdog: Option<u64>,
    stats: &mut Stats,
) -> RunEnd {
    if let Err(e) = vmcs.start_guest(caps, c.entry, c.region.stack_top - 8, c.eptp) {
        return RunEnd::Bug(alloc::format!("vmcs-guest-state {e:?}"));
    }
    if super::instr::invept_all().is_err() {
        return RunEnd::Bug("invept-failed".into());
    }
    let mut regs = GuestRegs::default();
    let mut console = crate::console::LineBuffer::new(&c.name);
    loop {
        if let Some(ticks) = watchdog {
            // SAFETY: the timer value only bounds how long the guest runs.
            let _ = unsafe { super::instr::vmwrite(fields::PREEMPTION_TIMER_VALUE, ticks) };
        }
        // SAFETY: the VMCS holds this kernel's host state and a guest confined to the
        // compartment's view (built by `compartment::load`); `launched` is tracked here.
        if let Err(e) = unsafe { enter(&mut regs, vmcs.launched) } {
            return RunEnd::Bug(alloc::format!("vm-entry-instruction-failed {e:?}"));
        }
        vmcs.launched = true;
        let raw = raw_exit(&regs);
        stats.count_exit(reason_name(raw.reason & 0xFFFF));
        let exit = decode(&raw);
        match decide(&exit) {
            Action::Resume => {}
            Action::Cpuid { len } => {
                cpuid(&mut regs);
                skip(len);
            }
            Action::Hypercall { len } => {
                match handle_hypercall(c, &mut regs, &mut console, stats) {
                    Some(outcome) => {
                        console.flush();
                        return RunEnd::Ended(outcome);
                    }
                    None => skip(len),
                }
            }
            Action::Fault(fault) => {
                console.flush();
                let rip = read(fields::GUEST_RIP);
                crate::sprintln!(
                    "@@FAULT compartment={} kind={} {} rip={rip:#x}",
                    c.name,
                    fault.kind,
                    fault.details
                );
                stats.faults += 1;
                return RunEnd::Ended(Outcome::Faulted(fault.kind));
            }
            Action::Bug(reason) => {
                if let VmExit::EntryFailure { .. } = exit {
                    log::error!("VM entry failed for '{}': {reason}", c.name);
                }
                return RunEnd::Bug(reason);
            }
        }
    }
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
        c &= !(1 << 5 | 1 << 31);
    }
    regs.rax = a.into();
    regs.rbx = b.into();
    regs.rcx = c.into();
    regs.rdx = d.into();
}

/// Handles the hypercall in RAX. Returns how the compartment ended, if it did.
fn handle_hypercall(
    c: &Compartment,
    regs: &mut GuestRegs,
    console: &mut crate::console::LineBuffer,
    stats: &mut Stats,
) -> Option<Outcome> {
    let (ptr, len) = (regs.rdi, regs.rsi);
    match regs.rax {
        hypercall::EXIT => {
            let code = regs.rdi as i32;
            crate::sprintln!("@@EXIT compartment={} code={code}", c.name);
            Some(Outcome::Exited(code))
        }
        hypercall::CONSOLE_WRITE => {
            regs.rax = match read_buffer(c, ptr, len) {
                Ok(buf) => {
                    console.write(&buf);
                    len
                }
                Err(code) => code as u64,
            };
            None
        }
        hypercall::PANIC => {
            let message = match read_buffer(c, ptr, len) {
                Ok(buf) => alloc::string::String::from_utf8_lossy(&buf).into_owned(),
                Err(_) => "(unreadable panic message)".into(),
            };
            console.flush();
            stats.faults += 1;
            crate::sprintln!(
                "@@FAULT compartment={} kind=panic message={}",
                c.name,
                encode_value(&message)
            );
            Some(Outcome::Faulted("panic"))
        }
        hypercall::EXIT_COUNT => {
            regs.rax = stats.total_exits();
            None
        }
        _ => {
            regs.rax = error::UNKNOWN_HYPERCALL as u64;
            None
        }
    }
}

fn read_buffer(c: &Compartment, ptr: u64, len: u64) -> Result<alloc::vec::Vec<u8>, i64> {
    if len > hypercall::CONSOLE_WRITE_MAX {
        return Err(error::TOO_LARGE);
    }
    let mut buf = alloc::vec![0u8; len as usize];
    if crate::tables::read_guest(&c.view, ptr, &mut buf) {
        Ok(buf)
    } else {
        Err(error::BAD_POINTER)
    }
}
