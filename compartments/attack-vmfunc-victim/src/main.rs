//! Attack (DESIGN §6, property 2): VMFUNC from its own code into the victim's view
//! (EAX = 0, ECX = the victim's view). The switch itself may succeed, but the next
//! instruction is fetched in the victim's view at an address in the attacker's region,
//! which that view does not map: an EPT violation (execute) that the hypervisor must
//! blame on the attacker. Should execution go on, the attacker reads the victim's first
//! page, which the victim's view does map.
#![no_std]
#![no_main]

use core::hint::black_box;
use core::ptr;

use attack_kit::layout::{VICTIM_BASE, VICTIM_VIEW};
use attack_kit::{not_contained, vmfunc};
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");

fn main() -> i32 {
    println!("{NAME}: VMFUNC eax=0 ecx={VICTIM_VIEW} from my own code");
    // SAFETY: deliberately malicious (property 2); the hypervisor must stop this
    // compartment on the next instruction fetch.
    unsafe { vmfunc(0, VICTIM_VIEW as u32) };
    // SAFETY: only reached if the attack worked: then the victim's first page is mapped
    // (readable) in the view this code now runs in.
    let stolen = unsafe { ptr::read_volatile(black_box(VICTIM_BASE as *const u64)) };
    not_contained(
        NAME,
        format_args!("running in the victim's view, read {VICTIM_BASE:#x} = {stolen:#x}"),
    )
}
