//! Keeps a secret where a compartment keeps things — its static data, its heap, its
//! stack — then is made to fault and is restarted from its pristine image (manifest
//! `restart = "on-fault"`). `scan` counts the copies of the secret in its static buffer,
//! its whole heap and its whole stack: after the restart there must be none.
//!
//! The secret is never in the image: it is derived at run time from the caller's seed,
//! and `scan` compares byte by byte against the derivation, so the scanner itself holds
//! no copy.
#![no_std]
#![no_main]

use core::cell::UnsafeCell;
use core::hint::black_box;

use tessera_sdk::abi::gate::{self, info};
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

const LEN: usize = 48;

/// Byte `i` of the secret for `seed`.
fn secret(seed: u64, i: usize) -> u8 {
    let x = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .rotate_left(i as u32 % 64);
    (x >> 8) as u8 ^ (i as u8).wrapping_mul(31) | 0x80
}

/// A buffer in .bss.
struct Stash(UnsafeCell<[u8; LEN]>);

// SAFETY: one thread of control; exports are not re-entered (`max_depth = 1`).
unsafe impl Sync for Stash {}

static STASH: Stash = Stash(UnsafeCell::new([0; LEN]));

tessera_sdk::exports! {
    /// Puts the secret for `seed` in the static buffer, on the heap (leaked) and on the
    /// stack (a frame that returns); returns how many copies `scan` then finds.
    fn keep(seed: u64) -> u64 {
        let bytes: [u8; LEN] = core::array::from_fn(|i| secret(seed, i));
        // SAFETY: see `Stash`.
        unsafe { *STASH.0.get() = bytes };
        black_box(Box::leak(Box::new(bytes)));
        on_stack(&bytes);
        scan(seed)
    }

    /// Faults (#UD), like an exploited parser would.
    fn crash() -> u64 {
        // SAFETY: deliberately faulting: UD2 raises #UD, contained by the hypervisor.
        unsafe { core::arch::asm!("ud2", options(nomem, nostack)) };
        0
    }

    /// Copies of the secret for `seed` in the static buffer, the heap and the stack
    /// (all of it: the scan holds no copy, it compares byte by byte).
    fn scan(seed: u64) -> u64 {
        let heap = region(info_word(info::HEAP_BASE), info_word(info::HEAP_SIZE));
        let top = info_word(info::STACK_TOP);
        let size = tessera_sdk::abi::entry::STACK_SIZE;
        let stack = region(top - size, size);
        // SAFETY: see `Stash`.
        let stash = unsafe { &*STASH.0.get() };
        [&stash[..], heap, stack].iter().map(|r| count(r, seed)).sum()
    }
}

#[inline(never)]
fn on_stack(bytes: &[u8; LEN]) {
    let copy = black_box(*bytes);
    black_box(&copy);
}

fn count(bytes: &[u8], seed: u64) -> u64 {
    bytes
        .windows(LEN)
        .filter(|w| w.iter().enumerate().all(|(i, &b)| b == secret(seed, i)))
        .count() as u64
}

fn info_word(offset: u64) -> u64 {
    // SAFETY: the info page is mapped readable in every view for the compartment's life;
    // 8-aligned words; only the hypervisor writes it.
    unsafe { ((gate::INFO + offset) as *const u64).read_volatile() }
}

fn region(base: u64, len: u64) -> &'static [u8] {
    // SAFETY: the hypervisor maps the heap (info page HEAP_BASE, HEAP_SIZE) and the
    // stack (STACK_SIZE below STACK_TOP) read-write in this view for its whole life; the
    // bytes are only read, as plain u8s.
    unsafe { core::slice::from_raw_parts(base as *const u8, len as usize) }
}

fn main() -> i32 {
    println!(
        "secret-keeper: ready (restart_count={})",
        tessera_sdk::restart_count()
    );
    0
}
