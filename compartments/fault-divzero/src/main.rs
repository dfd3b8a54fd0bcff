//! Attack: integer divide by zero. Expected: a #DE exception exits to the hypervisor,
//! which stops this compartment and reports the fault; nobody else is affected.
#![no_std]
#![no_main]

use core::arch::asm;
use core::hint::black_box;

use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

fn main() -> i32 {
    println!("fault-divzero: dividing by zero");
    // Rust's `/` checks for zero and panics instead of executing DIV, so the division is
    // written in asm; black_box hides the zero from the optimiser.
    let divisor: u32 = black_box(0);
    let quotient: u32;
    // SAFETY: deliberately faulting: DIV by zero raises #DE (Intel SDM Vol. 2A, DIV),
    // which runs contained in L2 and exits to the hypervisor. Should it ever complete,
    // it only writes EAX/EDX, which are declared.
    unsafe {
        asm!(
            "div {d:e}",
            d = in(reg) divisor,
            inlateout("eax") 1u32 => quotient,
            inlateout("edx") 0u32 => _,
            options(nomem, nostack),
        );
    }
    println!("fault-divzero: survived the division (quotient {quotient}): not contained");
    1
}
