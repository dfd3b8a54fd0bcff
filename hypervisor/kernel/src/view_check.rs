//! The final rogue-`VMFUNC` check of every view before anything runs
//! (`tessera_core::view_scan`, DESIGN §6 property 2): core walks each view's table and
//! scans what is executable; this file only lends it the host pages.

use crate::system::View;
use crate::tables::ReadTables;
use alloc::string::String;
use tessera_abi::gate;
use tessera_core::paging::EntryFormat;
use tessera_core::view_scan::{self, HostPages};

/// The boot identity map covers the first 4 GiB (`boot.rs`); every frame L1 hands out is
/// below it.
const IDENTITY_MAPPED: u64 = 1 << 32;

/// Host pages read in place through the identity map.
struct Identity;

impl HostPages for Identity {
    fn page(&self, hpa: u64) -> Option<&[u8; 4096]> {
        if hpa % 0x1000 != 0 || hpa.checked_add(0x1000)? > IDENTITY_MAPPED {
            return None;
        }
        // SAFETY: a 4 KiB-aligned page below 4 GiB is identity-mapped and readable; the
        // pages a view maps are frames L1 allocated (gate, images, stacks, grants, guest
        // tables), and nothing writes them while the check runs (one CPU, no guest yet).
        Some(unsafe { &*(hpa as *const [u8; 4096]) })
    }
}

/// Checks every view; `exempt` is the conformance fixture's image range in its view.
pub fn check_all<F: EntryFormat>(
    views: &[View<F>],
    exempt: Option<core::ops::Range<u64>>,
) -> Result<(), String> {
    for (i, view) in views.iter().enumerate() {
        let slot = gate::SLOTS + gate::SLOT_SIZE * i as u64;
        view_scan::check_view(&view.table, &ReadTables, &Identity, slot, exempt.clone()).map_err(
            |e| {
                alloc::format!(
                    "L1 bug: the view of '{}' failed the final VMFUNC check: {e}",
                    view.name
                )
            },
        )?;
    }
    Ok(())
}
