//! A callee that fails on request (DESIGN §6, property 6). The callee-failure scenario
//! runs three instances of this image (faulty-crash, faulty-overflow, faulty-spin), one
//! per kind of failure, because a compartment that failed once is refused from then on.
#![no_std]
#![no_main]

use core::arch::asm;
use core::hint::black_box;

use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

tessera_sdk::exports! {
    /// Divides by zero: a #DE exception in the callee.
    fn crash() -> u64 {
        let divisor: u32 = black_box(0);
        let quotient: u32;
        // SAFETY: deliberately faulting: DIV by zero raises #DE (Intel SDM Vol. 2A,
        // DIV), contained in L2. Should it complete, it only writes EAX/EDX, declared.
        unsafe {
            asm!(
                "div {d:e}",
                d = in(reg) divisor,
                inlateout("eax") 1u32 => quotient,
                inlateout("edx") 0u32 => _,
                options(nomem, nostack),
            );
        }
        quotient.into()
    }

    /// Recurses until the stack runs into the unmapped guard page below it: an EPT
    /// violation in the callee.
    fn overflow() -> u64 {
        recurse(0)
    }

    /// Spins without ever exiting: the watchdog stops the callee.
    fn spin() -> u64 {
        let mut n: u64 = 0;
        loop {
            n = black_box(n.wrapping_add(1));
        }
    }
}

/// 512 bytes of stack per level; only a depth no 64 KiB stack reaches ends it.
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let frame = black_box([depth; 64]);
    if black_box(depth) == u64::MAX {
        return frame[0];
    }
    recurse(depth + 1).wrapping_add(frame[1])
}

fn main() -> i32 {
    println!("victim-faulty: ready to fail (crash, overflow, spin)");
    0
}
