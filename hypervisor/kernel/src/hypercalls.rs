//! Hypercall handling (DESIGN §7): the caller is the view the CPU was in, never a
//! register; every guest buffer is a guest-virtual address, translated through the guest
//! page tables and then checked against that view's permissions for its whole length,
//! and copied once.
//!
//! One handler per row of the ABI's hypercall table (`tessera_abi::for_each_hypercall!`),
//! chosen by an exhaustive `match` on the admitted [`Hypercall`]; core decides what is
//! admitted and what the names a call carries resolve to.

use crate::regs::GuestRegs;
use crate::system::{Status, System};
use alloc::string::String;
use alloc::vec::Vec;
use tessera_abi::error;
use tessera_abi::hypercall::{self, Hypercall};
use tessera_core::hypercall as hc;
use tessera_core::manifest::Access;
use tessera_core::outcome::encode_value;
use tessera_core::paging::EntryFormat;

/// What the run loop does after a hypercall.
#[derive(Debug)]
pub enum After {
    /// Skip the VMCALL and resume.
    Resume,
    /// The running `main` returned with this code.
    MainExited(i32),
    /// Stop the calling view (it is the one executing), with this `@@FAULT` kind and
    /// details.
    Stop { kind: &'static str, details: String },
    /// The calling view's gate received a reply nobody waits for: repair the thread
    /// (`tessera_core::contain::settle`), stopping nobody.
    Repair,
}

/// Copies a guest buffer (guest-virtual `ptr`, as the compartment addresses it) readable
/// in `view`, at most `max` bytes.
fn read<F: EntryFormat>(
    sys: &System<F>,
    view: usize,
    ptr: u64,
    len: u64,
    max: u64,
) -> Result<Vec<u8>, i64> {
    if len > max {
        return Err(error::TOO_LARGE);
    }
    let mut buf = alloc::vec![0u8; len as usize];
    if crate::tables::read_guest_virtual(&sys.views[view].table, ptr, &mut buf) {
        Ok(buf)
    } else {
        Err(error::BAD_POINTER)
    }
}

/// A name argument: TOO_LARGE past [`hc::MAX_NAME`] bytes, BAD_POINTER if unreadable;
/// core decides what its bytes name.
fn read_name<F: EntryFormat>(
    sys: &System<F>,
    view: usize,
    ptr: u64,
    len: u64,
) -> Result<Vec<u8>, i64> {
    read(sys, view, ptr, len, hc::MAX_NAME)
}

fn ret(regs: &mut GuestRegs, value: Result<u64, i64>) -> After {
    regs.rax = match value {
        Ok(v) => v,
        Err(code) => code as u64,
    };
    After::Resume
}

/// Handles the hypercall in `regs.rax` made from view `current` while `main` runs:
/// UNKNOWN_HYPERCALL or NOT_PERMITTED from [`hc::admit`], else the handler of the
/// admitted hypercall.
pub fn handle<F: EntryFormat>(
    sys: &mut System<F>,
    current: usize,
    main: usize,
    regs: &mut GuestRegs,
) -> After {
    let call = match hc::admit(&sys.manifest, current, regs.rax) {
        Ok(call) => call,
        Err(code) => return ret(regs, Err(code)),
    };
    // Exhaustive on purpose: a row added to the ABI's table does not compile until it has
    // a handler here.
    match call {
        Hypercall::Exit => exit(sys, current, main, regs.rdi),
        Hypercall::ConsoleWrite => console_write(sys, current, regs),
        Hypercall::Panic => panic(sys, current, regs),
        Hypercall::ExitCount => ret(regs, Ok(sys.exits)),
        Hypercall::RegisterExport => register_export(sys, current, main, regs),
        Hypercall::Lookup => lookup(sys, current, regs),
        Hypercall::Grant => grant(sys, current, regs),
        Hypercall::GateViolation => gate_violation(regs.rsi),
        Hypercall::Report => report(sys, current, regs),
        // The fixture answers these before this is called (`crate::conformance`);
        // outside it `admit` has already refused them.
        Hypercall::ConformanceReport | Hypercall::SwitchView => {
            ret(regs, Err(error::NOT_PERMITTED))
        }
    }
}

/// EXIT: the running `main` ends; from inside a call, the callee is stopped.
fn exit<F: EntryFormat>(sys: &mut System<F>, current: usize, main: usize, rdi: u64) -> After {
    let code = rdi as i32;
    sys.views[current].console.flush();
    if current == main {
        crate::sprintln!("@@EXIT compartment={} code={code}", sys.views[current].name);
        After::MainExited(code)
    } else {
        After::Stop {
            kind: "exit-in-call",
            details: alloc::format!("code={code}"),
        }
    }
}

/// CONSOLE_WRITE of RSI bytes at RDI.
fn console_write<F: EntryFormat>(
    sys: &mut System<F>,
    current: usize,
    regs: &mut GuestRegs,
) -> After {
    let (ptr, len) = (regs.rdi, regs.rsi);
    match read(sys, current, ptr, len, hypercall::CONSOLE_WRITE_MAX) {
        Ok(buf) => match sys.views[current].console.write(&buf) {
            Ok(()) => ret(regs, Ok(len)),
            Err(_) => ret(regs, Err(error::OVER_BUDGET)),
        },
        Err(e) => ret(regs, Err(e)),
    }
}

/// PANIC with the message at RDI/RSI: the caller is stopped.
fn panic<F: EntryFormat>(sys: &mut System<F>, current: usize, regs: &GuestRegs) -> After {
    let message = match read(
        sys,
        current,
        regs.rdi,
        regs.rsi,
        hypercall::CONSOLE_WRITE_MAX,
    ) {
        Ok(buf) => tessera_core::console::panic_message(&buf),
        Err(_) => encode_value("(unreadable panic message)"),
    };
    let console = &mut sys.views[current].console;
    console.flush();
    // The message is the compartment's text: its budget pays for it, or it is
    // left out (the @@FAULT line itself is L1's verdict and always printed).
    let message = match console.charge(message.len()) {
        Ok(()) => message,
        Err(_) => String::new(),
    };
    After::Stop {
        kind: "panic",
        details: alloc::format!("message={message}"),
    }
}

/// REPORT of the line at RDI/RSI.
fn report<F: EntryFormat>(sys: &mut System<F>, current: usize, regs: &mut GuestRegs) -> After {
    let line = match read(sys, current, regs.rdi, regs.rsi, hypercall::REPORT_MAX) {
        Ok(buf) => buf,
        Err(e) => return ret(regs, Err(e)),
    };
    match tessera_core::report::report_line(&sys.views[current].name, &line) {
        Ok(text) => match sys.views[current].console.report(&text) {
            Ok(()) => ret(regs, Ok(0)),
            Err(_) => ret(regs, Err(error::OVER_BUDGET)),
        },
        Err(refused) => ret(regs, Err(refused.code())),
    }
}

/// REGISTER_EXPORT of the name at RDI/RSI as the code at RDX.
fn register_export<F: EntryFormat>(
    sys: &mut System<F>,
    current: usize,
    main: usize,
    regs: &mut GuestRegs,
) -> After {
    if current != main || sys.views[current].status != Status::Ready {
        return ret(regs, Err(error::BAD_STATE));
    }
    let name = match read_name(sys, current, regs.rdi, regs.rsi) {
        Ok(n) => n,
        Err(e) => return ret(regs, Err(e)),
    };
    let index = match hc::register_export(&sys.manifest, current, &name) {
        Ok(index) => index,
        Err(e) => return ret(regs, Err(e)),
    };
    // A code address: guest-virtual, executable in the guest's paging and in the
    // view, inside the compartment's own region.
    let address = regs.rdx;
    let view = &sys.views[current];
    let executable = crate::tables::translate_virtual(&view.table, address)
        .filter(|m| m.executable && view.region.contains(&m.gpa))
        .and_then(|m| view.table.translate(&crate::tables::ReadTables, m.gpa))
        .is_some_and(|t| t.perms.execute);
    if !executable {
        return ret(regs, Err(error::BAD_POINTER));
    }
    sys.set_export(current, index, address);
    ret(regs, Ok(index as u64))
}

/// LOOKUP of the export named at RDX/R10 of the compartment named at RDI/RSI.
fn lookup<F: EntryFormat>(sys: &System<F>, current: usize, regs: &mut GuestRegs) -> After {
    let names = read_name(sys, current, regs.rdi, regs.rsi)
        .and_then(|target| Ok((target, read_name(sys, current, regs.rdx, regs.r10)?)));
    let found =
        names.and_then(|(target, export)| hc::lookup(&sys.manifest, current, &target, &export));
    ret(regs, found)
}

/// GRANT named at RDI/RSI: its address in RAX, its size in RDX, writable in R10.
fn grant<F: EntryFormat>(sys: &System<F>, current: usize, regs: &mut GuestRegs) -> After {
    let found = read_name(sys, current, regs.rdi, regs.rsi)
        .and_then(|name| hc::grant(&sys.manifest, current, &name));
    match found {
        Ok((index, access)) => {
            let (gpa, _, size) = sys.grants[index];
            regs.rdx = size;
            regs.r10 = u64::from(access == Access::ReadWrite);
            ret(regs, Ok(gpa))
        }
        Err(e) => ret(regs, Err(e)),
    }
}

/// GATE_VIOLATION with reason `rsi`. No culprit is read from the guest: the caller is
/// the view the CPU was in.
fn gate_violation(rsi: u64) -> After {
    match rsi {
        tessera_abi::gate::violation::CORRUPT_STATE => After::Stop {
            kind: "gate-state",
            details: String::from("reason=own-frame-overwritten"),
        },
        _ => After::Repair,
    }
}
