//! The callee of the gate benchmarks: the exports `bench-gate` times. One package,
//! loaded under many module names (`callee-1`, `callee-2`, ...) for the scaling runs.
//!
//! `sum` adds up the 4 KiB grant `buf` as 512 little-endian u64s; a callee the manifest
//! grants no `buf` returns `u64::MAX` from it.
#![no_std]
#![no_main]

use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

/// The grant `buf`, once `main` looked it up (leaked: it lives as long as the view).
static BUF: AtomicPtr<Grant> = AtomicPtr::new(ptr::null_mut());

tessera_sdk::exports! {
    /// Nothing: the cost of the gate itself.
    fn nop() {}

    /// Two arguments in, one result out.
    fn add2(a: u64, b: u64) -> u64 {
        a.wrapping_add(b)
    }

    /// All six argument registers.
    fn add6(a: u64, b: u64, c: u64, d: u64, e: u64, f: u64) -> u64 {
        a.wrapping_add(b).wrapping_add(c).wrapping_add(d).wrapping_add(e).wrapping_add(f)
    }

    /// The sum of the shared buffer's u64s (reads all 4 KiB).
    fn sum() -> u64 {
        sum_buf()
    }
}

fn sum_buf() -> u64 {
    let grant = BUF.load(Ordering::Acquire);
    if grant.is_null() {
        return u64::MAX;
    }
    // SAFETY: a non-null BUF comes from Box::leak in `main`: valid for the rest of the
    // run, never freed, and only ever borrowed shared.
    let grant: &Grant = unsafe { &*grant };
    let bytes = grant.bytes();
    bytes.chunks_exact(8).fold(0u64, |acc, word| {
        let mut le = [0u8; 8];
        le.copy_from_slice(word);
        acc.wrapping_add(u64::from_le_bytes(le))
    })
}

fn main() -> i32 {
    if let Ok(buf) = grant("buf") {
        BUF.store(Box::leak(Box::new(buf)), Ordering::Release);
    }
    0
}
