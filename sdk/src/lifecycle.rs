//! A compartment's life as the hypervisor tells it in the info page: how often it was
//! restarted from its pristine image ([`restart_count`]), and the read-only data the
//! manifest provisions for it ([`data()`], docs/manifest.md `[[data]]`). Neither makes a
//! hypercall: both read words L1 wrote before the compartment ran.

use tessera_abi::gate::{data as dir, info};

use crate::heap::info_word;

/// Times the hypervisor restarted this compartment from its pristine image (manifest
/// `restart = "on-fault"`): 0 on its first run, 1 after its first restart, ...
pub fn restart_count() -> u64 {
    info_word(info::RESTARTS)
}

/// The bytes of the data entry `name` the manifest provisions for this compartment
/// (`[[data]] name = "..." compartment = "..."`), mapped read-only in its view only;
/// `None` if it has none by that name.
pub fn data(name: &str) -> Option<&'static [u8]> {
    let base = info_word(info::DATA);
    if base == 0 || name.is_empty() || name.len() as u64 > dir::NAME_LEN {
        return None;
    }
    let word = |offset: u64| {
        // SAFETY: the hypervisor maps the directory page R-- at `base` in this view for
        // its whole life (identity-mapped by the guest page tables), and only it writes
        // the page; the offsets are 8-aligned and inside the page.
        unsafe { ((base + offset) as *const u64).read_volatile() }
    };
    let count = word(dir::COUNT).min(dir::MAX_ENTRIES);
    (0..count).find_map(|i| {
        let entry = dir::ENTRIES + dir::ENTRY_SIZE * i;
        // SAFETY: as above; the name is NAME_LEN bytes inside the entry.
        let stored = unsafe {
            core::slice::from_raw_parts(
                (base + entry + dir::NAME) as *const u8,
                dir::NAME_LEN as usize,
            )
        };
        let len = stored.iter().position(|&b| b == 0).unwrap_or(stored.len());
        if &stored[..len] != name.as_bytes() {
            return None;
        }
        let (addr, bytes) = (word(entry + dir::ADDR), word(entry + dir::LEN));
        // SAFETY: the hypervisor maps `bytes` bytes from `addr` R-- in this view for its
        // whole life and never changes them, so a shared 'static slice is sound.
        Some(unsafe { core::slice::from_raw_parts(addr as *const u8, bytes as usize) })
    })
}
