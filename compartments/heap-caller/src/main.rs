//! Heap (issue 14): the caller of compartments/heap-callee. `grow(2)` fits the callee's
//! 8 KiB heap; `grow(64)` does not, so the callee is stopped during the call and the call
//! is answered `CalleeFailed`; a third call finds the callee stopped (`CalleeFailed`).
//! Prints `HEAP-CALLER small=2 large=callee-failed after=callee-failed` and exits 0 when
//! that is what happened, 1 otherwise.
#![no_std]
#![no_main]

use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

tessera_sdk::import! {
    heap_callee = "heap-callee" {
        fn grow(kib: u64) -> u64;
    }
}

fn word(r: Result<u64, CallError>) -> String {
    match r {
        Ok(n) => format!("{n}"),
        Err(CallError::CalleeFailed) => "callee-failed".into(),
        Err(e) => format!("error:{e:?}"),
    }
}

fn main() -> i32 {
    let small = word(heap_callee::grow(2));
    let large = word(heap_callee::grow(64));
    let after = word(heap_callee::grow(1));
    println!("HEAP-CALLER small={small} large={large} after={after}");
    if small == "2" && large == "callee-failed" && after == "callee-failed" {
        0
    } else {
        1
    }
}
