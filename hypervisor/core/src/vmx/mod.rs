//! Intel VMX: pure pieces of the VMX backend (field encodings, control computation).
//! Vendor words stay inside this module and the kernel's `vmx/`.

mod control_flags;
pub mod controls;
pub mod exit;
pub mod fields;
pub mod instruction_error;

#[cfg(test)]
mod controls_tests;
