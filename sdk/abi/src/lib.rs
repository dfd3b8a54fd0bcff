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
