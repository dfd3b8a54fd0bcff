//! Heap (issue 14): its manifest gives it `heap = 8192`. It keeps allocating 1 KiB
//! blocks; the ninth cannot fit, and the SDK's allocator reports OUT_OF_MEMORY instead of
//! panicking. Expected: `@@FAULT compartment=heap-overflow kind=out-of-memory size=1024
//! align=1 heap=8192 rip=...`. If it ever holds more than its heap it prints `not
//! contained` and exits 1.
#![no_std]
#![no_main]

use tessera_sdk::heap;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

const BLOCK: usize = 1024;

fn main() -> i32 {
    let size = heap::size();
    println!("heap-overflow: allocating past my {size}-byte heap");
    let mut blocks: Vec<Box<[u8]>> = Vec::with_capacity(64);
    for i in 0..64 {
        blocks.push(vec![i as u8; BLOCK].into_boxed_slice());
        println!("heap-overflow: {} bytes allocated", (i + 1) * BLOCK);
    }
    println!("heap-overflow: held 64 KiB in an 8 KiB heap: not contained");
    1
}
