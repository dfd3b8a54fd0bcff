//! Attack (DESIGN §5): ICEBP (`F1`, INT1) is a privileged debug instruction. The same
//! line on every engine: `@@FAULT kind=privileged action=icebp` (VMX reports it as a
//! privileged software exception, SVM as its own intercept, QEMU TCG as #UD).
#![no_std]
#![no_main]

use attack_kit::not_contained;
use core::arch::asm;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");

fn main() -> i32 {
    println!("{NAME}: executing ICEBP");
    // SAFETY: deliberately faulting; the hypervisor must stop this compartment.
    unsafe { asm!(".byte 0xF1", options(nostack)) };
    not_contained(NAME, format_args!("ICEBP executed"))
}
