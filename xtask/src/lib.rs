//! Tessera's build entry (`cargo xtask ...`) and the library the emulator scenarios use.
//!
//! Pure pieces (engine choice, transcript parsing, bochsrc/grub.cfg/QEMU arguments, the
//! host-tool table, declarations, the benchmark report) are unit-tested here. Emulators
//! are started in two places only, each ending its emulator by the PID it started:
//! [`runner`] boots one image (Bochs, QEMU, KVM, UEFI) and [`nested::session`] boots the
//! Linux of `--engine nested-kvm` in Bochs; [`batch`] spreads many boots over both.
// Issue 13's size rule: no function over 80 lines (the threshold is in clippy.toml).
#![deny(clippy::too_many_lines)]

pub mod batch;
pub mod bench;
pub mod bochs;
pub mod caps;
pub mod commands;
pub mod conformance;
pub mod declaration;
pub mod engine;
pub mod example_tests;
pub mod examples;
pub mod exports_check;
pub mod faults;
pub mod fuzz;
pub mod gdb;
pub mod host;
pub mod image;
pub mod imports_check;
pub mod kernel;
pub mod nested;
pub mod paths;
pub mod process;
pub mod qemu;
pub mod runner;
pub mod scaffold;
pub mod symbols;
pub mod tools;
pub mod transcript;
pub mod vmfunc_check;
