//! Attack (DESIGN §6, property 5): writes `VMFUNC` (0F 01 D4) over the `int3`s of the
//! victim's slot in its own copy of the gate region. Had it worked, a switch from this
//! view could land on the pad that says "source = victim": a forged caller identity. The
//! slot pages are R-X (or execute-only) in every view: an EPT write violation.
//!
//! The bytes it writes are put together at run time: as a constant, rustc compiled them
//! into the immediate of `mov dword [rax], 0xccd4010f`, which put `0F 01 D4` into this
//! compartment's own code, and the hypervisor rejects such an image before it runs
//! (DESIGN §6 property 2; xtask names the function at build time).
#![no_std]
#![no_main]

use core::hint::black_box;
use core::ptr;

use attack_kit::layout::VICTIM_VIEW;
use attack_kit::not_contained;
use tessera_sdk::abi::gate;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");

fn main() -> i32 {
    let slot = gate::SLOTS + gate::SLOT_SIZE * VICTIM_VIEW;
    println!("{NAME}: writing VMFUNC into the victim's slot at {slot:#x} in my copy of the gate");
    // VMFUNC then int3, little-endian (0xccd4010f), from two halves neither of which
    // holds the sequence; black_box keeps the compiler from folding them back together.
    let bytes = black_box(0xCCD4_0000u32) | black_box(0x0000_010Fu32);
    // SAFETY: deliberately malicious (property 5): the gate region is never writable, so
    // the hypervisor must stop this compartment at the write. Slots are 16-byte aligned.
    unsafe { ptr::write_volatile(black_box(slot as *mut u32), bytes) };
    not_contained(
        NAME,
        format_args!("wrote VMFUNC into slot {VICTIM_VIEW} at {slot:#x}"),
    )
}
