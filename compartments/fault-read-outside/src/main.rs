//! Attack: read memory outside its own region. Expected: the first read faults (an EPT
//! violation, or a #PF where the guest page tables map nothing) and the hypervisor stops
//! this compartment.
#![no_std]
#![no_main]

use core::hint::black_box;
use core::ptr;

use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

/// Low memory, below any compartment region (where L1's own data might be), then a
/// canonical high guest-physical address far above any RAM.
const TARGETS: [u64; 2] = [0x1000, 0x0000_7fff_ffff_f000];

fn main() -> i32 {
    println!("fault-read-outside: reading {:#x}", TARGETS[0]);
    for addr in TARGETS {
        let p = black_box(addr as *const u64);
        // SAFETY: deliberately malicious: reads memory this compartment does not own,
        // which its view does not map; the hypervisor must stop it. Runs contained in L2.
        let value = unsafe { ptr::read_volatile(p) };
        println!("fault-read-outside: read {addr:#x} = {value:#x}: not contained");
    }
    1
}
