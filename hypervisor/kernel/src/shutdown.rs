//! Ending a run: the `@@RESULT` line, then whatever ends the machine we run on.
//!
//! - QEMU: `isa-debug-exit` at port 0xF4 (the runner adds the device) exits at once.
//! - Bochs: the magic breakpoint stops in Bochs' debugger, whose command file quits;
//!   failing that, "Shutdown" written to port 0x8900 ends the simulation.
//! - Anything else (bare metal): the CPU halts with the result on the console.

use crate::cpu::{Port, bochs_magic_break, halt_forever};
use core::fmt;
use tessera_abi::exit::{
    BOCHS_SHUTDOWN_PORT, QEMU_DEBUG_EXIT_PORT, QEMU_EXIT_FAIL, QEMU_EXIT_PASS,
};

/// Prints the verdict's `@@RESULT` line and ends the run.
pub fn finish(verdict: &tessera_engine::verdict::Verdict) -> ! {
    crate::sprintln!("{}", verdict.line());
    end(if verdict.passed() {
        QEMU_EXIT_PASS
    } else {
        QEMU_EXIT_FAIL
    })
}

/// Prints `@@RESULT fail reason=...` and ends the run. Spaces in the reason become `-`
/// so the value stays one token.
pub fn fail(reason: fmt::Arguments<'_>) -> ! {
    crate::sprint!("{} fail reason=", tessera_abi::transcript::RESULT);
    {
        let mut w = NoSpaces;
        let _ = fmt::write(&mut w, reason);
    }
    crate::sprintln!();
    end(QEMU_EXIT_FAIL)
}

struct NoSpaces;

impl fmt::Write for NoSpaces {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            let c = if c.is_whitespace() { '-' } else { c };
            crate::sprint!("{c}");
        }
        Ok(())
    }
}

fn end(qemu_code: u8) -> ! {
    crate::serial::SERIAL.lock().flush();
    // SAFETY: port 0xF4 is QEMU's isa-debug-exit (the runner configures it) and unused on
    // the PC platform otherwise; writing it touches no memory.
    unsafe { Port::new(QEMU_DEBUG_EXIT_PORT) }.write_u8(qemu_code);
    bochs_magic_break();
    for byte in b"Shutdown" {
        // SAFETY: Bochs' shutdown port; elsewhere an unused port. No memory is affected.
        unsafe { Port::new(BOCHS_SHUTDOWN_PORT) }.write_u8(*byte);
    }
    halt_forever()
}
