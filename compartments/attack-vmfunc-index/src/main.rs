//! Attack (DESIGN §6, property 2): VMFUNC with an EPTP index past the 512-entry list (EAX = 0, ECX = 600).
//! Hardware makes that a VM exit 59 (ECX >= 512; Intel SDM Vol. 3C, "EPTP Switching"); the
//! emulation must do the same. Either way the hypervisor must stop the attacker:
//! `@@FAULT kind=vmfunc`.
#![no_std]
#![no_main]

use attack_kit::{not_contained, vmfunc};
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");

fn main() -> i32 {
    println!("{NAME}: VMFUNC eax=0 ecx=600 from my own code");
    // SAFETY: deliberately malicious (property 2); the hypervisor must stop this
    // compartment at the VMFUNC.
    unsafe { vmfunc(0, 600) };
    not_contained(NAME, format_args!("VMFUNC eax=0 ecx=600 returned"))
}
