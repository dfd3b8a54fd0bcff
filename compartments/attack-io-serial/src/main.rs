//! Attack (DESIGN §6, property 5: privileged state): `OUT` to port 0x3F8, COM1's data register: the hypervisor's own console, where a compartment could forge `@@` transcript lines. All port
//! I/O exits unconditionally and is refused: `@@FAULT kind=privileged action=io`.
#![no_std]
#![no_main]

use core::arch::asm;
use core::hint::black_box;

use attack_kit::not_contained;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");
const PORT: u16 = 0x3F8;
const VALUE: u8 = b'X';

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
