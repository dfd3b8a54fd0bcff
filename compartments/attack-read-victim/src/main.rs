//! Attack (DESIGN §6, property 1): reads the victim's first page (ELF headers and
//! read-only data, where its secret lives). The victim's region is not mapped in any
//! other view: `@@FAULT kind=memory gpa=0x1000000 access=read allowed=---`.
#![no_std]
#![no_main]

use core::hint::black_box;
use core::ptr;

use attack_kit::layout::VICTIM_BASE;
use attack_kit::not_contained;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");

fn main() -> i32 {
    println!("{NAME}: reading the victim's first page at {VICTIM_BASE:#x}");
    // SAFETY: deliberately malicious (property 1): the hypervisor must stop this
    // compartment at the read. Should it succeed, it reads a plain u64.
    let value = unsafe { ptr::read_volatile(black_box(VICTIM_BASE as *const u64)) };
    not_contained(NAME, format_args!("read {VICTIM_BASE:#x} = {value:#x}"))
}
