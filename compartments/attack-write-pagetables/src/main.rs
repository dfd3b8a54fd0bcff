//! Attack (DESIGN §6, property 5): writes the guest page tables (PML4) at `PAGE_TABLES` (the value it reads there, so a
//! write that got through would do no damage but still be caught). Expected: an EPT
//! write violation, because they are read-only in every view, so no view can remap memory.
#![no_std]
#![no_main]

use attack_kit::layout::PAGE_TABLES;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");

fn main() -> i32 {
    // SAFETY: deliberately malicious (property 5); the hypervisor must stop this
    // compartment at the write.
    unsafe { attack_kit::rewrite_u64(NAME, "the guest page tables (PML4)", PAGE_TABLES) }
}
