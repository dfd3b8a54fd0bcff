//! Attack: spin forever without a single hypercall. Expected: the hypervisor's watchdog
//! (VMX-preemption timer, or an L1 timer on SVM) stops this compartment.
#![no_std]
#![no_main]

use core::hint::black_box;

use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

fn main() -> i32 {
    println!("fault-loop: spinning forever");
    let mut n: u64 = 0;
    loop {
        // No PAUSE (it can exit on PAUSE-loop exiting): a plain busy loop the optimiser
        // cannot remove.
        n = black_box(n.wrapping_add(1));
    }
}
