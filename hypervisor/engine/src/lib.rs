//! Tessera's engine: what the hypervisor does, written once, without `unsafe`, and tested
//! on the host (docs/architecture.md).
//!
//! It holds the model of the application ([`world`]) — compartments, their views, grants,
//! the EPTP list the switches use — builds it from the manifest and the images
//! ([`provision`]), and runs it ([`vcpu`]): the per-vCPU loop that takes each exit the
//! backend decoded, handles hypercalls for the view that made them, emulates VMFUNC
//! where the CPU does not switch views itself, stops the view that faulted and repairs
//! the thread of control, and decides the boot's verdict ([`verdict`]). It reaches the
//! machine only through the ports of [`port`] and [`backend`]; with the `fake` feature,
//! [`fake`] provides a machine made of plain data for host tests. With the `fixture`
//! feature (test kernels only), [`fixture`] is the VMFUNC conformance fixture, a
//! decorator around the backend.
#![no_std]
#![forbid(unsafe_code)]
// Issue 13's size rule: no function over 80 lines (the threshold is in clippy.toml).
#![deny(clippy::too_many_lines)]

extern crate alloc;

pub mod backend;
pub mod boot;
pub mod console;
pub mod decode;
pub mod guest;
pub mod hypercall;
pub mod ids;
pub mod port;
pub mod provision;
pub mod stats;
pub mod vcpu;
pub mod verdict;
pub mod world;

#[cfg(any(test, feature = "fake"))]
pub mod fake;
#[cfg(feature = "fixture")]
pub mod fixture;
