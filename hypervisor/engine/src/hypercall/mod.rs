//! Hypercalls (DESIGN §7, `tessera_abi::hypercall`): the caller is the view the CPU was
//! in, never a register; every buffer is a guest-virtual address, translated through the
//! guest page tables and checked against the caller's view for its whole length, then
//! copied once. Core decides what names mean (`tessera_core::hypercall`); the handlers
//! here read the arguments, act on the world and write the results.

mod handlers;

use crate::backend::Gprs;
use crate::ids::ViewId;
use crate::port::Memory;
use crate::world::World;
use alloc::string::String;
use alloc::vec::Vec;
use tessera_abi::error;
use tessera_abi::hypercall::Hypercall;
use tessera_core::hypercall as hc;
use tessera_core::paging::EntryFormat;

/// What the run loop does after a hypercall.
#[derive(Debug, PartialEq, Eq)]
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

/// A hypercall's arguments and the view that made it.
#[derive(Debug, Clone, Copy)]
pub struct Call {
    /// The view the CPU was in.
    pub caller: ViewId,
    /// The `main` running now.
    pub main: ViewId,
    /// The vCPU it runs on (whose root of the caller's view its buffers are read through:
    /// its stack is per vCPU).
    pub cpu: usize,
    /// RDI, RSI, RDX, R10.
    pub args: [u64; 4],
}

impl Call {
    /// The caller and its vCPU: where a buffer argument is read.
    pub fn source(&self) -> (ViewId, usize) {
        (self.caller, self.cpu)
    }
}

/// Handles the hypercall in `gprs.rax` made from view `caller` on vCPU `cpu` while
/// `main` runs there.
#[inline(always)]
pub fn handle<F: EntryFormat, M: Memory>(
    world: &mut World<F, M>,
    (caller, cpu): (ViewId, usize),
    main: ViewId,
    gprs: &mut Gprs,
) -> After {
    let call = Call {
        caller,
        main,
        cpu,
        args: [gprs.rdi, gprs.rsi, gprs.rdx, gprs.r10],
    };
    let hypercall = match hc::admit(&world.manifest, caller.index(), gprs.rax) {
        Ok(hypercall) => hypercall,
        Err(code) => return ret(gprs, Err(code)),
    };
    // Exhaustive on purpose: a row added to the ABI's table does not compile until it has
    // a handler here.
    match hypercall {
        Hypercall::Exit => handlers::exit(world, &call),
        Hypercall::ConsoleWrite => ret(gprs, handlers::console_write(world, &call)),
        Hypercall::Panic => handlers::panic(world, &call),
        Hypercall::OutOfMemory => handlers::out_of_memory(world, &call),
        // This vCPU's: a thread measuring its own calls does not count another vCPU's
        // exits (the same as the world's total with one vCPU).
        Hypercall::ExitCount => ret(gprs, Ok(world.exits_on(cpu))),
        Hypercall::Report => ret(gprs, handlers::report(world, &call)),
        Hypercall::AppReport => ret(gprs, handlers::app_report(world, &call)),
        Hypercall::RegisterExport => ret(gprs, handlers::register_export(world, &call)),
        Hypercall::Lookup => ret(gprs, handlers::lookup(world, &call)),
        Hypercall::Grant => match handlers::grant(world, &call) {
            Ok((gpa, size, writable)) => {
                gprs.rdx = size;
                gprs.r10 = u64::from(writable);
                ret(gprs, Ok(gpa))
            }
            Err(e) => ret(gprs, Err(e)),
        },
        Hypercall::GateViolation => handlers::gate_violation(&call),
        // The fixture answers these itself, before the engine sees them (a backend
        // decorator); outside it `admit` has already refused them.
        Hypercall::ConformanceReport | Hypercall::SwitchView => {
            ret(gprs, Err(error::NOT_PERMITTED))
        }
    }
}

fn ret(gprs: &mut Gprs, value: Result<u64, i64>) -> After {
    gprs.rax = match value {
        Ok(v) => v,
        Err(code) => code as u64,
    };
    After::Resume
}

/// Copies a guest buffer (guest-virtual `ptr`, as the compartment addresses it)
/// readable in `view`'s root on vCPU `cpu`, at most `max` bytes: TOO_LARGE past that,
/// BAD_POINTER if any byte cannot be read.
pub fn read<F: EntryFormat, M: Memory>(
    world: &World<F, M>,
    (view, cpu): (ViewId, usize),
    (ptr, len): (u64, u64),
    max: u64,
) -> Result<Vec<u8>, i64> {
    if len > max {
        return Err(error::TOO_LARGE);
    }
    let mut buf = alloc::vec![0u8; len as usize];
    let Some(root) = world.view(view).roots.get(cpu) else {
        return Err(error::BAD_POINTER);
    };
    if crate::guest::read_virtual(&world.mem, &root.table, ptr, &mut buf) {
        Ok(buf)
    } else {
        Err(error::BAD_POINTER)
    }
}

/// A name argument: TOO_LARGE past [`hc::MAX_NAME`] bytes, BAD_POINTER if unreadable;
/// core decides what its bytes name.
pub fn read_name<F: EntryFormat, M: Memory>(
    world: &World<F, M>,
    source: (ViewId, usize),
    arg: (u64, u64),
) -> Result<Vec<u8>, i64> {
    read(world, source, arg, hc::MAX_NAME)
}
