//! Heap (issue 14): its manifest gives it `heap = 1048576`, far more than the 64 KiB
//! default. It allocates all of it but one block, in 16 KiB blocks each filled with its
//! own pattern, checks every block, prints `heap-fill: N of SIZE bytes in use` and exits
//! 0. Exit 1 if the heap is not the size its manifest says or a block lost its pattern.
#![no_std]
#![no_main]

use tessera_sdk::heap;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

const BLOCK: usize = 16 * 1024;

fn main() -> i32 {
    let size = heap::size();
    if size != 1 << 20 {
        println!("heap-fill: heap is {size} bytes, not the manifest's 1048576");
        return 1;
    }
    // One block is left for the allocator's bookkeeping and the vector of blocks.
    let count = size / BLOCK - 1;
    let mut blocks: Vec<Box<[u8]>> = Vec::with_capacity(count);
    for i in 0..count {
        blocks.push(vec![i as u8; BLOCK].into_boxed_slice());
    }
    let intact = blocks
        .iter()
        .enumerate()
        .all(|(i, b)| b.iter().all(|&x| x == i as u8));
    let used = heap::used();
    println!("heap-fill: {used} of {size} bytes in use");
    if !intact || used < count * BLOCK {
        println!("heap-fill: a block lost its pattern");
        return 1;
    }
    0
}
