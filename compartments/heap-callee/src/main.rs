//! Heap (issue 14): out of memory *inside an export*. Its manifest gives it `heap = 8192`;
//! `grow(kib)` allocates `kib` 1 KiB blocks and returns how many it holds. A call that
//! asks for more than the heap stops this compartment with `@@FAULT
//! compartment=heap-callee kind=out-of-memory` (the SDK's allocator reports
//! OUT_OF_MEMORY, no panic), and its caller's call is answered `CalleeFailed`
//! (compartments/heap-caller).
#![no_std]
#![no_main]

use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

const BLOCK: usize = 1024;

tessera_sdk::exports! {
    /// Allocates `kib` KiB in 1 KiB blocks, keeps them until the call returns, and
    /// returns the number of blocks held.
    fn grow(kib: u64) -> u64 {
        let mut blocks: Vec<Box<[u8]>> = Vec::new();
        for i in 0..kib {
            blocks.push(vec![i as u8; BLOCK].into_boxed_slice());
        }
        blocks.len() as u64
    }
}

fn main() -> i32 {
    0
}
