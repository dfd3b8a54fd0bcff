//! One handler per hypercall (`tessera_abi::hypercall` documents each).

use super::{After, Call, read, read_name};
use crate::port::Memory;
use crate::world::{Status, World};
use alloc::string::String;
use tessera_abi::gate::{info, violation};
use tessera_abi::{error, hypercall as nr};
use tessera_core::hypercall as hc;
use tessera_core::manifest::Access;
use tessera_core::outcome::encode_value;
use tessera_core::paging::EntryFormat;
use tessera_core::report::ReportError;

/// EXIT: the running `main` ends with RDI; from anywhere else it is a fault.
pub fn exit<F: EntryFormat, M: Memory>(world: &mut World<F, M>, call: &Call) -> After {
    let code = call.args[0] as i32;
    world.console_flush(call.caller);
    if call.caller == call.main {
        let name = world.view(call.caller).compartment.name.clone();
        let line = alloc::format!("@@EXIT compartment={name} code={code}");
        // On an SMP boot a `main` may run on several vCPUs (`cpu=all`): say which ended.
        let line = match world.cpus() {
            1 => line,
            _ => tessera_core::report::with_cpu(&line, call.cpu),
        };
        world.line(format_args!("{line}"));
        After::MainExited(code)
    } else {
        After::Stop {
            kind: "exit-in-call",
            details: alloc::format!("code={code}"),
        }
    }
}

/// CONSOLE_WRITE: RSI bytes at RDI; returns how many were taken.
pub fn console_write<F: EntryFormat, M: Memory>(
    world: &mut World<F, M>,
    call: &Call,
) -> Result<u64, i64> {
    let [ptr, len, ..] = call.args;
    let buf = read(world, call.source(), (ptr, len), nr::CONSOLE_WRITE_MAX)?;
    world
        .console_write(call.caller, &buf)
        .map_err(|_| error::OVER_BUDGET)?;
    Ok(len)
}

/// PANIC: the message, readable on the compartment's console (its own lines, escaped as
/// console output is) and exact in `@@FAULT ... message=` (encoded as `@@` text is),
/// each charged to the console budget or left out; then a stop.
pub fn panic<F: EntryFormat, M: Memory>(world: &mut World<F, M>, call: &Call) -> After {
    let [ptr, len, ..] = call.args;
    world.console_flush(call.caller);
    let message = match read(world, call.source(), (ptr, len), nr::CONSOLE_WRITE_MAX) {
        Ok(buf) => {
            let kept = tessera_core::console::panic_text(&buf);
            // Over budget: dropped, and @@TRUNCATED says so; the stop goes on.
            let _ = world.console_write(call.caller, kept);
            world.console_flush(call.caller);
            tessera_core::console::panic_message(&buf)
        }
        Err(_) => encode_value("(unreadable panic message)"),
    };
    // The message is the compartment's text: its budget pays for it, or it is left out
    // (the @@FAULT line itself is L1's verdict and always printed).
    let message = match world.console_charge(call.caller, message.len()) {
        Ok(()) => message,
        Err(_) => String::new(),
    };
    After::Stop {
        kind: "panic",
        details: alloc::format!("message={message}"),
    }
}

/// OUT_OF_MEMORY: the caller's heap cannot give RDI bytes aligned to RSI; a stop that
/// says so, with the heap its manifest gave it. The numbers are only echoed (L1 decides
/// nothing from them), so any values are as good as the compartment's word about itself.
pub fn out_of_memory<F: EntryFormat, M: Memory>(world: &mut World<F, M>, call: &Call) -> After {
    let [size, align, ..] = call.args;
    world.console_flush(call.caller);
    let region = &world.view(call.caller).region;
    let heap = region.heap_top - region.heap_bottom;
    After::Stop {
        kind: "out-of-memory",
        details: alloc::format!("size={size} align={align} heap={heap}"),
    }
}

/// REPORT: one machine-readable line of a word L1 knows, in the caller's name.
pub fn report<F: EntryFormat, M: Memory>(world: &mut World<F, M>, call: &Call) -> Result<u64, i64> {
    print_report(world, call, tessera_core::report::report_line)
}

/// APP_REPORT: the caller's own `@@APP` line, in its name.
pub fn app_report<F: EntryFormat, M: Memory>(
    world: &mut World<F, M>,
    call: &Call,
) -> Result<u64, i64> {
    print_report(world, call, tessera_core::report::app::app_line)
}

/// Reads the caller's buffer (RDI/RSI, at most REPORT_MAX bytes), has core make the line
/// from it in the caller's name, and prints it on the caller's console budget.
fn print_report<F: EntryFormat, M: Memory>(
    world: &mut World<F, M>,
    call: &Call,
    line: fn(&str, &[u8]) -> Result<String, ReportError>,
) -> Result<u64, i64> {
    let [ptr, len, ..] = call.args;
    let buf = read(world, call.source(), (ptr, len), nr::REPORT_MAX)?;
    let name = &world.view(call.caller).compartment.name;
    let mut text = line(name, &buf).map_err(ReportError::code)?;
    if world.cpus() > 1 {
        // On an SMP boot every line says which vCPU reported it (one-vCPU transcripts
        // stay as they were).
        text = tessera_core::report::with_cpu(&text, call.cpu);
    }
    world
        .console_report(call.caller, &text)
        .map_err(|_| error::OVER_BUDGET)?;
    Ok(0)
}

/// REGISTER_EXPORT, kept for compatibility: exports come from the image's export table,
/// written at load. From the compartment's own `main` only, a declared name, and a code
/// address (guest-virtual) executable in the guest's paging and in the view, inside the
/// compartment's own region; then it succeeds, changing nothing, only if that address is
/// the one the table gave the export (BAD_STATE otherwise).
pub fn register_export<F: EntryFormat, M: Memory>(
    world: &mut World<F, M>,
    call: &Call,
) -> Result<u64, i64> {
    let [ptr, len, addr, _] = call.args;
    let view = world.view(call.caller);
    if call.caller != call.main || view.compartment.status != Status::Ready {
        return Err(error::BAD_STATE);
    }
    let name = read_name(world, call.source(), (ptr, len))?;
    let index = hc::register_export(&world.manifest, call.caller.index(), &name)?;
    let region = view.region.base..view.region.end();
    let executable = crate::guest::translate_virtual(&world.mem, &view.table, addr)
        .filter(|m| m.executable && region.contains(&m.gpa))
        .and_then(|m| view.table.translate(&world.mem, m.gpa))
        .is_some_and(|t| t.perms.execute);
    if !executable {
        return Err(error::BAD_POINTER);
    }
    let loaded = world.info_word(call.caller, info::EXPORTS + 8 * index as u64);
    if addr != loaded {
        return Err(error::BAD_STATE);
    }
    Ok(index as u64)
}

/// LOOKUP: `(view << 32) | index` of a compartment's export the caller may call.
pub fn lookup<F: EntryFormat, M: Memory>(world: &World<F, M>, call: &Call) -> Result<u64, i64> {
    let [target, target_len, export, export_len] = call.args;
    let target = read_name(world, call.source(), (target, target_len))?;
    let export = read_name(world, call.source(), (export, export_len))?;
    hc::lookup(&world.manifest, call.caller.index(), &target, &export)
}

/// GRANT: `(gpa, size, writable)` of a grant the caller's view has.
pub fn grant<F: EntryFormat, M: Memory>(
    world: &World<F, M>,
    call: &Call,
) -> Result<(u64, u64, bool), i64> {
    let [ptr, len, ..] = call.args;
    let name = read_name(world, call.source(), (ptr, len))?;
    let (index, access) = hc::grant(&world.manifest, call.caller.index(), &name)?;
    let grant = &world.grants[index];
    Ok((grant.gpa, grant.size, access == Access::ReadWrite))
}

/// GATE_VIOLATION: no culprit is read from the guest; the caller is the view the CPU was
/// in. Its own state page corrupt: it is stopped. A stray reply: nobody is.
pub fn gate_violation(call: &Call) -> After {
    match call.args[1] {
        violation::CORRUPT_STATE => After::Stop {
            kind: "gate-state",
            details: String::from("reason=own-frame-overwritten"),
        },
        _ => After::Repair,
    }
}
