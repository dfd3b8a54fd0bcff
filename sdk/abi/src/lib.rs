//! The ABI shared by the Tessera hypervisor, the compartments it runs and the host tooling.
//!
//! Versioned: a change that breaks an existing meaning bumps [`ABI_VERSION`].
#![no_std]
#![forbid(unsafe_code)]

/// Version of this ABI. Hypervisor and compartments must agree on it.
pub const ABI_VERSION: u32 = 1;

/// The machine-readable transcript the hypervisor writes on COM1.
///
/// Every machine-readable line starts with `@@` and a word, then `key=value` pairs
/// (values contain no spaces) — or JSON after `@@BENCH`. Free-form log lines never start
/// with `@@`.
pub mod transcript {
    /// Prefix of every machine-readable line.
    pub const PREFIX: &str = "@@";
    /// `@@CAP name=value`: one line per capability.
    pub const CAP: &str = "@@CAP";
    /// `@@RAW cpuid ...` / `@@RAW msr ...`: the raw capability dump the `@@CAP` lines
    /// were decoded from (recorded as fixtures for the host tests).
    pub const RAW: &str = "@@RAW";
    /// `@@BOOT key=value ...`: facts about this boot (command line, memory).
    pub const BOOT: &str = "@@BOOT";
    /// `@@RESULT pass` or `@@RESULT fail reason=...`: the last line of every boot.
    pub const RESULT: &str = "@@RESULT";
}

/// Exit conventions the kernel uses to end an emulator.
pub mod exit {
    /// QEMU `isa-debug-exit` I/O port (configured by the runner with `iobase=0xf4`).
    /// Writing `v` makes QEMU exit with status `(v << 1) | 1`.
    pub const QEMU_DEBUG_EXIT_PORT: u16 = 0xf4;
    /// Value written to the debug-exit port on pass (QEMU exits with 1).
    pub const QEMU_EXIT_PASS: u8 = 0;
    /// Value written to the debug-exit port on failure (QEMU exits with 3).
    pub const QEMU_EXIT_FAIL: u8 = 1;
    /// Bochs' shutdown port: writing the bytes of `"Shutdown"` ends the simulation.
    pub const BOCHS_SHUTDOWN_PORT: u16 = 0x8900;
}

/// Hypercalls: a compartment executes `VMCALL` (`0F 01 C1`, the Intel encoding on every
/// platform; on AMD it raises #UD and the hypervisor decodes it) with the number in RAX
/// and arguments in RDI, RSI, RDX, R10, R8, R9. The result comes back in RAX: a value
/// `>= 0` on success, or a negative [`error`] code. The caller is identified by the view
/// it runs in, never by a register.
pub mod hypercall {
    /// Ends the calling compartment. RDI = exit code (i32).
    pub const EXIT: u64 = 0;
    /// Writes RSI bytes at guest address RDI to the console, prefixed with the
    /// compartment's name. At most [`CONSOLE_WRITE_MAX`] bytes per call. Returns the
    /// number of bytes written.
    pub const CONSOLE_WRITE: u64 = 1;
    /// Reports a panic: RDI/RSI = message (UTF-8, at most [`CONSOLE_WRITE_MAX`] bytes,
    /// including the location). The compartment is stopped and reported as failed.
    pub const PANIC: u64 = 2;
    /// Returns the hypervisor's global VM-exit counter.
    pub const EXIT_COUNT: u64 = 3;

    /// Largest buffer CONSOLE_WRITE and PANIC accept in one call.
    pub const CONSOLE_WRITE_MAX: u64 = 4096;
}

/// Negative hypercall results.
pub mod error {
    /// RAX named no hypercall this hypervisor knows.
    pub const UNKNOWN_HYPERCALL: i64 = -1;
    /// A pointer argument is not readable (or writable) by the caller for its whole length.
    pub const BAD_POINTER: i64 = -2;
    /// A length argument is too large.
    pub const TOO_LARGE: i64 = -3;
    /// The caller's manifest entry does not allow this hypercall.
    pub const NOT_PERMITTED: i64 = -4;
}

/// How a compartment starts: the hypervisor enters at the ELF entry point in 64-bit
/// mode at CPL 0, interrupts off, with RSP ≡ 8 (mod 16) (as right after a `CALL`) at the
/// top of a stack below which lies an unmapped guard page, and RDI = 0 (reserved for a
/// boot-info pointer). Segments are mapped at their link addresses plus the region base
/// chosen by the hypervisor, with the permissions of their program headers.
pub mod entry {
    /// Bytes of stack the hypervisor gives each compartment.
    pub const STACK_SIZE: u64 = 64 * 1024;
}
