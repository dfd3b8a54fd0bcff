//! Attack (resource exhaustion at load, issue 10 class 10): an image with a 255 MiB bss.
//! It passes validation (its span is below the 256 MiB an image may take), but the
//! engines boot with 256 MiB of RAM, so no run of free frames can hold it: loading must
//! reject this one image (`@@REJECT module=attack-huge-image problem=out-of-memory
//! needed=...`) and every other compartment must load and run. Its `main` never runs;
//! should it, it touches both ends of its bss and reports that it was loaded.
#![no_std]
#![no_main]

use core::hint::black_box;
use core::ptr;

use attack_kit::not_contained;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");

/// More zero-initialised memory than the engines' RAM can give in one piece.
const HUGE: usize = 255 << 20;

static mut BALLAST: [u8; HUGE] = [0; HUGE];

fn main() -> i32 {
    let base = black_box((&raw mut BALLAST).cast::<u8>());
    let last = base.wrapping_add(HUGE - 1);
    // SAFETY: the first byte of this compartment's own bss, mapped read-write if the
    // image was loaded at all; nothing else refers to it.
    unsafe { ptr::write_volatile(base, 1) };
    // SAFETY: its last byte, likewise.
    unsafe { ptr::write_volatile(last, 1) };
    not_contained(
        NAME,
        format_args!("a {} MiB image was loaded and ran", HUGE >> 20),
    )
}
