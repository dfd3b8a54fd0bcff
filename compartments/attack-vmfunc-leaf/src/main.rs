//! Attack (DESIGN §6, property 2): VMFUNC with leaf 1, a VM function that is not enabled (EAX = 1, ECX = 0).
//! Hardware makes that a VM exit 59 (bit 1 of the VM-function controls is 0; Intel SDM Vol. 3C, "EPTP Switching"); the
//! emulation must do the same. Either way the hypervisor must stop the attacker:
//! `@@FAULT kind=vmfunc`.
#![no_std]
#![no_main]

use attack_kit::{not_contained, vmfunc};
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");

fn main() -> i32 {
    println!("{NAME}: VMFUNC eax=1 ecx=0 from my own code");
    // SAFETY: deliberately malicious (property 2); the hypervisor must stop this
    // compartment at the VMFUNC.
    unsafe { vmfunc(1, 0) };
    not_contained(NAME, format_args!("VMFUNC eax=1 ecx=0 returned"))
}
