//! Attack: overwrite its own code. Expected: the write hits a page that is R-X in this
//! compartment's view, an EPT (or NPT) write violation the hypervisor contains.
#![no_std]
#![no_main]

use core::hint::black_box;
use core::ptr;

use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

fn main() -> i32 {
    let target = black_box(main as fn() -> i32 as *const () as *mut u8);
    println!("fault-write-code: writing int3 over main at {target:p}");
    // SAFETY: deliberately malicious: a write to this compartment's own code page, which
    // is mapped read-execute; the hypervisor must refuse it. Runs contained in L2.
    unsafe { ptr::write_volatile(target, 0xCC) };
    println!("fault-write-code: the write to code succeeded: not contained");
    1
}
