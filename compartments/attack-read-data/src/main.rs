//! Attack (DESIGN §6, property 1; provisioned data, docs/manifest.md): the victim has
//! data provisioned (`data token compartment=victim`), mapped at the data window in its
//! view only. This compartment reads the same address in its own view, where nothing is
//! mapped: `@@FAULT kind=memory gpa=0x300000 access=read allowed=---`.
#![no_std]
#![no_main]

use core::hint::black_box;
use core::ptr;

use attack_kit::layout::DATA_BASE;
use attack_kit::not_contained;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");

fn main() -> i32 {
    if tessera_sdk::data("token").is_some() {
        return not_contained(NAME, format_args!("the victim's data is listed in my view"));
    }
    println!("{NAME}: reading the data window at {DATA_BASE:#x}, the victim's data directory");
    // SAFETY: deliberately malicious (property 1): the data window is mapped only in the
    // victim's view, so the hypervisor must stop this compartment at the read. Should it
    // succeed, it reads a plain u64.
    let value = unsafe { ptr::read_volatile(black_box(DATA_BASE as *const u64)) };
    not_contained(NAME, format_args!("read {DATA_BASE:#x} = {value:#x}"))
}
