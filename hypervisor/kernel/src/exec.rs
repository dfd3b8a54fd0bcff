//! The run loop, written once for every backend: each compartment's `main` in manifest
//! order; at every exit the watchdog first (`tessera_core::watchdog`), then the exit
//! decoded by the backend and decided in core. Hypercalls act for the current view; VMFUNC
//! is emulated where the CPU does not switch views itself (`ud`). A fault stops the view
//! the CPU was executing, nothing else, and the thread of control is repaired (`unwind`).

use crate::backend::Backend;
use crate::hypercalls::{self, After};
use crate::regs::GuestRegs;
use crate::system::{Status, System};
use crate::ud::{Ud, on_ud};
use crate::unwind::{Flow, Thread, repair, stop};
use alloc::string::String;
use tessera_core::exit::{Action, VmExit, decide};
use tessera_core::outcome::Outcome;
use tessera_core::watchdog::{Verdict, Watchdog};

type Sys<B> = System<<B as Backend>::Format>;

/// Runs every compartment's `main`. `Err` is an L1 failure (the boot fails).
pub fn run_all<B: Backend>(
    cpu: &mut B,
    sys: &mut Sys<B>,
    dog: &mut Watchdog,
) -> Result<(), String> {
    for main in 0..sys.views.len() {
        if sys.views[main].status == Status::Ready {
            run_main(cpu, sys, dog, main)?;
        }
    }
    Ok(())
}

fn run_main<B: Backend>(
    cpu: &mut B,
    sys: &mut Sys<B>,
    dog: &mut Watchdog,
    main: usize,
) -> Result<(), String> {
    sys.reset_stacks();
    let v = &sys.views[main];
    cpu.start(v.entry, v.stack_top - 8, main, v.pointer)?;
    dog.start_main(main, crate::cpu::rdtsc());
    cpu.set_trapped(dog.trapped());
    let mut regs = GuestRegs::default();
    loop {
        cpu.arm_watchdog(dog.timer(crate::cpu::rdtsc()));
        let exit = cpu.run(&mut regs)?;
        let thread = Thread {
            main,
            now: crate::cpu::rdtsc(),
        };
        sys.exits += 1;
        let current = sys
            .view_of(cpu.current_pointer())
            .ok_or("the loaded view pointer names no view")?;
        sys.views[current].stats.count_exit(exit.reason);
        let (stopped, untrap) = watchdog(cpu, sys, dog, thread, current, &mut regs);
        let flow = match stopped {
            Some(flow) => Some(flow),
            None => handle(cpu, sys, dog, thread, current, exit.exit, &mut regs)?,
        };
        // Only now: this exit may be a VMFUNC that trapped, to be emulated as such.
        if untrap {
            cpu.set_trapped(false);
        }
        if let Some(Flow::MainOver) = flow {
            break;
        }
    }
    Ok(())
}

/// Whether the executing view is the running `main` at its base (its activation is the
/// main's own, not a call into it).
fn at_base<F: tessera_core::paging::EntryFormat>(
    sys: &System<F>,
    main: usize,
    view: usize,
) -> bool {
    view == main && sys.depth_of(main) == 0
}

/// The watchdog's check at every exit: `Some` if it stopped the executing view, and
/// whether hardware switching goes back on once this exit is handled.
fn watchdog<B: Backend>(
    cpu: &mut B,
    sys: &mut Sys<B>,
    dog: &mut Watchdog,
    thread: Thread,
    current: usize,
    regs: &mut GuestRegs,
) -> (Option<Flow>, bool) {
    match dog.check(thread.now, current, at_base(sys, thread.main, current)) {
        Verdict::Continue => (None, false),
        Verdict::Trap => {
            log::debug!("watchdog period over: trapped switching");
            cpu.set_trapped(true);
            (None, false)
        }
        Verdict::Untrap => (None, true),
        Verdict::Overrun { view, budget, used } => {
            let details = alloc::format!("budget={budget} used={used}");
            let flow = stop(cpu, sys, dog, thread, view, ("watchdog", &details), regs);
            (Some(flow), false)
        }
    }
}

/// Handles one exit; `Some` when the thread broke and was repaired.
fn handle<B: Backend>(
    cpu: &mut B,
    sys: &mut Sys<B>,
    dog: &mut Watchdog,
    thread: Thread,
    current: usize,
    exit: VmExit,
    regs: &mut GuestRegs,
) -> Result<Option<Flow>, String> {
    let mut decoded = exit;
    let mut current = current;
    if decoded
        == (VmExit::Exception {
            vector: 6,
            error_code: None,
        })
    {
        match on_ud(cpu, sys, dog, (current, thread.main, thread.now), regs) {
            Ud::Switched => return Ok(None),
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
        // Prefixes included: `66 CD 21` is INT 21h (core decides what it raises).
        let mut bytes = [0u8; 15];
        let n = crate::tables::fetch_up_to(&sys.views[current].table, cpu.rip(), &mut bytes);
        decoded = tessera_core::exit::software_interrupt(&bytes[..n]);
    }
    if crate::conformance::step(cpu, sys, &decoded, regs) {
        return Ok(None);
    }
    let rip = cpu.rip();
    Ok(match decide(&decoded) {
        Action::Resume => None,
        Action::ClearSingleStep => {
            cpu.clear_single_step();
            None
        }
        Action::Cpuid { len } => {
            cpuid(regs);
            let len = cpuid_length(sys, current, rip, len);
            cpu.set_rip(rip.wrapping_add(len));
            None
        }
        Action::Hypercall { len } if crate::conformance::hypercall(cpu, sys, regs) => {
            cpu.set_rip(rip.wrapping_add(len));
            None
        }
        Action::Hypercall { len } => match hypercalls::handle(sys, current, thread.main, regs) {
            After::Resume => {
                cpu.set_rip(rip.wrapping_add(len));
                None
            }
            After::MainExited(code) => {
                let view = &mut sys.views[thread.main];
                view.outcome = Some(Outcome::Exited(code));
                view.status = Status::Done;
                Some(Flow::MainOver)
            }
            After::Stop { kind, details } => {
                Some(stop(cpu, sys, dog, thread, current, (kind, &details), regs))
            }
            After::Repair => Some(repair(cpu, sys, dog, thread, regs)),
        },
        Action::Fault(fault) => Some(stop(
            cpu,
            sys,
            dog,
            thread,
            current,
            (fault.kind, &fault.details),
            regs,
        )),
        Action::Bug(reason) => {
            return Err(alloc::format!("{}: {reason}", sys.views[current].name));
        }
    })
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
