//! Tessera's engine: what the hypervisor does, written once, without `unsafe`, and tested
//! on the host (docs/architecture.md).
//!
//! It holds the model of the application — compartments, their views, grants, the EPTP
//! list the switches use — builds it from the manifest and the images, and runs it: the
//! per-vCPU loop that takes each exit the backend decoded, handles hypercalls for the view
//! that made them, emulates VMFUNC where the CPU does not switch views itself, stops the
//! view that faulted and repairs the thread of control, and decides the boot's verdict.
//! It reaches the machine only through the ports of [`port`]; with the `fake` feature,
//! [`fake`] provides a machine made of plain data for host tests.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod ids;
pub mod port;

#[cfg(any(test, feature = "fake"))]
pub mod fake;
