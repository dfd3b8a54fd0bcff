//! Attack (the polite kind): panic. Expected: the SDK's panic handler reports
//! `panicked at ...: fault-panic: deliberate` through the PANIC hypercall and the
//! hypervisor marks this compartment failed.
#![no_std]
#![no_main]

use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

fn main() -> i32 {
    println!("fault-panic: about to panic");
    panic!("fault-panic: deliberate");
}
