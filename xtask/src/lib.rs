//! Tessera's build entry (`cargo xtask ...`) and the library the emulator scenarios use.
//!
//! Pure pieces (engine choice, transcript parsing, bochsrc/grub.cfg/QEMU arguments, the
//! host-tool table) are unit-tested here; [`runner`] is the one place that starts
//! emulators.

pub mod batch;
pub mod bench;
pub mod bochs;
pub mod caps;
pub mod commands;
pub mod conformance;
pub mod declaration;
pub mod engine;
pub mod examples;
pub mod fuzz;
pub mod host;
pub mod image;
pub mod kernel;
pub mod nested;
pub mod paths;
pub mod process;
pub mod qemu;
pub mod runner;
pub mod tools;
pub mod transcript;
pub mod vmfunc_check;
