//! The VMFUNC conformance compartment (docs/conformance.md). Runs only with the
//! hypervisor's test fixture (kernel argument `conformance=1`) and a `cases` module:
//! the cases are data, and the hypervisor runs each one (its code sits in the fixture's
//! case area, not in this image) when asked, then returns here. This compartment only
//! asks for case 0, 1, 2, … until there is none.
#![no_std]
#![no_main]

use tessera_sdk::abi::hypercall::CONFORMANCE_REPORT;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

fn main() -> i32 {
    let mut case = 0;
    // SAFETY: CONFORMANCE_REPORT takes no pointers; the hypervisor puts every register but
    // RAX back as it was before it returns here.
    while unsafe { tessera_sdk::hypercall::hypercall(CONFORMANCE_REPORT, case, 0, 0, 0, 0, 0) } == 0
    {
        case += 1;
    }
    println!("conformance: {case} cases run");
    0
}
