//! The Tessera compartment SDK: everything a compartment links.
//!
//! A compartment is a `#![no_std]`, `#![no_main]` binary built for `x86_64-unknown-none`
//! (a static PIE). The whole of one:
//!
//! ```ignore
//! #![no_std]
// Issue 13's size rule: no function over 80 lines (the threshold is in clippy.toml).
#![deny(clippy::too_many_lines)]
//! #![no_main]
//! use tessera_sdk::prelude::*;
//!
//! tessera_sdk::entry!(main);
//!
//! fn main() -> i32 {
//!     println!("hi");
//!     0
//! }
//! ```
//!
//! What the SDK provides:
//! - [`entry!`]: the ELF entry point `_start` (it also emits hermit-entry's entry-version
//!   note, which the hypervisor's loader requires, and the ABI-version note the hypervisor
//!   checks against its own [`abi::ABI_VERSION`]), heap set-up, then `main`, then [`exit`].
//! - [`print!`] / [`println!`]: the console, through the `CONSOLE_WRITE` hypercall.
//! - [`exports!`]: functions other compartments may call through the gate, put in the
//!   image's export table, which the hypervisor reads at load ([`exports_raw!`] for
//!   assembly).
//! - [`interface!`] and [`serve!`]: an interface declared once (a trait the callee
//!   implements, typed client stubs), with strings, byte slices and serde types as
//!   arguments and results, copied through the call buffer of the edge ([`typed`]).
//! - [`import!`]: typed calls to other compartments' exports (LOOKUP once, then the
//!   gate), returning `Result<_, CallError>`; [`gate::call`] / [`gate::lookup`] under it.
//! - [`grant!`] / [`StaticGrant`]: the shared buffers the manifest grants this
//!   compartment, declared once as statics (one lookup for the compartment's life, copies
//!   or closure-scoped borrows, no `RefCell`); [`grant()`] for a handle as a value.
//! - [`app!`]: the compartment's own machine-readable lines, `@@APP compartment=NAME
//!   key=value ...` (APP_REPORT; [`report::AppLine`] for keys chosen at run time), and
//!   [`report!`]: the `@@ROUNDTRIPS`/`@@BENCH`/`@@CALL` lines tools read (REPORT).
//! - [`restart_count`]: how often the hypervisor restarted this compartment from its
//!   pristine image; [`data()`]: the read-only data the manifest provisions for it.
//! - [`cpu()`] / [`cpus()`]: the vCPU the code runs on (no exit: each vCPU has its own
//!   info page); [`cpu_local!`]: statics with one value per vCPU in the CPU-local page;
//!   [`sync::Mutex`]: a spin lock, for data a compartment shares between vCPUs ([`cpu`]).
//! - [`exit`], [`exit_count`]; [`hypercall::raw`], one `unsafe fn` per hypercall of the
//!   ABI's table, and [`hypercall::hypercall`] for any number.
//! - A panic handler that reports `panicked at FILE:LINE:COL: MESSAGE` through the
//!   `PANIC` hypercall.
//! - A global allocator over the heap the hypervisor maps for the compartment (manifest
//!   `heap=`, default [`heap::DEFAULT_SIZE`] = 64 KiB), so `alloc`'s `Vec`, `String`, `Box`
//!   and `format!` work; running out stops the compartment with `@@FAULT
//!   kind=out-of-memory` (the OUT_OF_MEMORY hypercall), not a panic ([`heap`]).
#![no_std]

#[cfg(not(target_arch = "x86_64"))]
compile_error!("tessera-sdk targets x86_64 only (build compartments for x86_64-unknown-none)");

pub extern crate alloc;

pub mod console;
pub mod cpu;
pub mod export;
pub mod gate;
pub mod grant;
pub mod grant_static;
pub mod heap;
pub mod hypercall;
pub mod import;
pub mod interface;
pub mod lifecycle;
mod panic;
pub mod report;
mod rt;
mod text;
pub mod typed;

pub use cpu::{CpuLocal, cpu, cpus};
pub use gate::CallError;
pub use grant::{Grant, grant};
pub use grant_static::{GrantError, StaticGrant};
pub use hypercall::{Error, exit, exit_count};
pub use lifecycle::{data, restart_count};
pub use rt::Termination;
pub use tessera_abi as abi;
/// The call-buffer encoding.
pub use tessera_wire as wire;
/// serde, as the SDK uses it (an interface's own types derive `Serialize` and
/// `Deserialize`; see [`interface!`]).
pub use tessera_wire::serde;

/// Locks for data a compartment's code shares between vCPUs (docs/gates.md "What a
/// compartment's own data sees"): the `spin` crate's, which spin rather than block (a
/// compartment has no scheduler to block in). Keep a guard only briefly, and never across
/// a gate call into a compartment that may call back and take the same lock.
pub mod sync {
    pub use spin::{Mutex, MutexGuard};
}

/// What a compartment usually wants in scope: `use tessera_sdk::prelude::*;`.
pub mod prelude {
    pub use crate::{CallError, Grant, StaticGrant, exit, exit_count, grant, print, println};
    pub use alloc::boxed::Box;
    pub use alloc::format;
    pub use alloc::string::{String, ToString};
    pub use alloc::vec;
    pub use alloc::vec::Vec;
}

/// Items the SDK's macros expand to. Not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::console::print_fmt;
    pub use crate::rt::start;
    pub use hermit_entry::define_entry_version;
    pub use tessera_wire::fingerprint;
}
