//! Attack (DESIGN §6, property 5: privileged state): `OUT` to port tessera_sdk::abi::exit::QEMU_DEBUG_EXIT_PORT, QEMU's isa-debug-exit port, which ends the whole emulator (the value written is the *fail* code, so a breach can never pass for a clean run). All port
//! I/O exits unconditionally and is refused: `@@FAULT kind=privileged action=io`.
#![no_std]
#![no_main]

use core::arch::asm;
use core::hint::black_box;

use attack_kit::not_contained;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");
const PORT: u16 = tessera_sdk::abi::exit::QEMU_DEBUG_EXIT_PORT;
const VALUE: u8 = tessera_sdk::abi::exit::QEMU_EXIT_FAIL;

fn main() -> i32 {
    println!("{NAME}: OUT {VALUE:#x} to port {PORT:#x}");
    let port = black_box(PORT);
    // SAFETY: deliberately malicious: OUT in L2 must cause a VM exit (unconditional I/O
    // exiting, Intel SDM Vol. 3C §26.1.3) and be refused. It touches no memory.
    unsafe {
        asm!("out dx, al", in("dx") port, in("al") VALUE, options(nomem, nostack, preserves_flags))
    };
    not_contained(NAME, format_args!("OUT to port {PORT:#x} was not refused"))
}
