//! The final rogue-`VMFUNC` check of every view before anything runs
//! (`tessera_core::view_scan`, DESIGN §6 property 2): core walks each view's root on
//! every vCPU and scans everything executable, as the CPU could fetch it.

use crate::port::Memory;
use crate::world::View;
use alloc::string::String;
use core::ops::Range;
use tessera_abi::gate;
use tessera_core::paging::EntryFormat;
use tessera_core::view_scan::{self, HostPages};

/// The memory port lends core the host pages.
struct Pages<'a, M>(&'a M);

impl<M: Memory> HostPages for Pages<'_, M> {
    fn page(&self, hpa: u64) -> Option<&[u8; 4096]> {
        self.0.page(hpa)
    }
}

/// Checks every root of every view; `exempt` is the conformance fixture's image range in
/// its view.
pub fn all<F: EntryFormat, M: Memory>(
    mem: &M,
    views: &[View<F>],
    exempt: Option<Range<u64>>,
) -> Result<(), String> {
    for view in views {
        let slot = gate::SLOTS + gate::SLOT_SIZE * u64::from(view.id.0);
        for (cpu, root) in view.roots.iter().enumerate() {
            view_scan::check_view(&root.table, mem, &Pages(mem), slot, exempt.clone()).map_err(
                |e| {
                    alloc::format!(
                        "L1 bug: the view of '{}' on vCPU {cpu} failed the final VMFUNC check: {e}",
                        view.name()
                    )
                },
            )?;
        }
    }
    Ok(())
}
