//! Call buffers (docs/gates.md, "Call buffers"): one per `calls` edge S→T of the
//! manifest, mapped RW- in exactly views S and T at the same guest-physical address, each
//! followed by an unmapped guard page. They share the grants' area
//! ([`GRANTS_BASE`](super::GRANTS_BASE)..[`GRANTS_LIMIT`](super::GRANTS_LIMIT)), after
//! the grants: both are "memory two or more views share, never executable", and the
//! 12 MiB area holds more than a thousand 4 KiB edges besides the grants.

use super::{GRANTS_LIMIT, GUARD, LayoutError, is_pages};
use crate::manifest::Manifest;
use alloc::vec::Vec;
use tessera_abi::gate::channels;

/// Where the call buffer of one `calls` edge is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelPlacement {
    /// The view that calls (its `calls=` names the callee).
    pub caller: usize,
    /// The view called.
    pub callee: usize,
    /// Page-aligned guest-physical address, the same in both views.
    pub gpa: u64,
    /// Bytes: the callee's call-buffer size.
    pub size: u64,
}

impl ChannelPlacement {
    /// The entry both views' channel pages hold for it (`tessera_abi::gate::channels`).
    pub const fn entry(&self) -> u32 {
        channels::entry(self.gpa, self.size)
    }
}

/// Places one buffer per edge of `manifest` (callers in view order, each caller's edges
/// in its `calls=` order) from `next`, each followed by a guard page, below
/// [`GRANTS_LIMIT`].
pub(super) fn plan(
    manifest: &Manifest,
    mut next: u64,
) -> Result<Vec<ChannelPlacement>, LayoutError> {
    let mut placed = Vec::new();
    for (caller, callee) in manifest.edges() {
        let size = manifest.compartments[callee].call_buffer;
        let name = || {
            let c = &manifest.compartments;
            alloc::format!("{}->{}", c[caller].name, c[callee].name)
        };
        if !is_pages(size) || size > channels::MAX_SIZE {
            return Err(LayoutError::BadCallBuffer { edge: name(), size });
        }
        let end = next.checked_add(size).and_then(|e| e.checked_add(GUARD));
        match end {
            Some(end) if end <= GRANTS_LIMIT => {
                placed.push(ChannelPlacement {
                    caller,
                    callee,
                    gpa: next,
                    size,
                });
                next = end;
            }
            _ => return Err(LayoutError::ChannelsFull { edge: name(), size }),
        }
    }
    Ok(placed)
}
