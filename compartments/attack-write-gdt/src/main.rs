//! Attack (DESIGN §6, property 5): writes the GDT at `GDT` (the value it reads there, so a
//! write that got through would do no damage but still be caught). Expected: an EPT
//! write violation, because it is read-only in every view, so no view can change segments or the TSS.
#![no_std]
#![no_main]

use attack_kit::layout::GDT;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");

fn main() -> i32 {
    // SAFETY: deliberately malicious (property 5); the hypervisor must stop this
    // compartment at the write.
    unsafe { attack_kit::rewrite_u64(NAME, "the GDT", GDT) }
}
