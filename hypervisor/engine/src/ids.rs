//! Identities the engine hands around instead of vendor words or raw addresses.

use core::fmt;

/// A view: one compartment's second-level address space, and its index in the EPTP list
/// (= its gate slot). The identity every port speaks of; the backend maps it to its own
/// EPT pointer or nCR3 and ASID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ViewId(pub u16);

impl ViewId {
    /// The view's index (in the manifest, the EPTP list and the gate's slots).
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for ViewId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "view {}", self.0)
    }
}
