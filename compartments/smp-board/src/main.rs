//! The `busy` scenario's board: a `parallel` compartment both vCPUs call, so neither
//! side of the scenario waits on a guess.
//!
//! - `get(slot)`, `set(slot, value)`: words of its own static (`smp_kit::slot`), atomic;
//!   `set` returns 0, a slot past the board reads 0 and is not written.
//! - `meet()`: counts the caller in and spins until two callers have come in, then
//!   returns how many have. Two calls of it can only both return while both are inside
//!   the board at once: the proof that a parallel compartment serves both vCPUs at the
//!   same moment, without `Busy`. Nothing but its watchdog bounds the spin (a second
//!   caller that never comes is `@@FAULT compartment=board kind=watchdog`).
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering};

use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

const SLOTS: usize = 8;

static WORDS: [AtomicU64; SLOTS] = [const { AtomicU64::new(0) }; SLOTS];
static ARRIVED: AtomicU64 = AtomicU64::new(0);

fn word(slot: u64) -> Option<&'static AtomicU64> {
    WORDS.get(usize::try_from(slot).ok()?)
}

tessera_sdk::exports! {
    /// The word in `slot` (0 past the board).
    fn get(slot: u64) -> u64 {
        word(slot).map_or(0, |w| w.load(Ordering::SeqCst))
    }
    /// Writes `value` into `slot`; 0.
    fn set(slot: u64, value: u64) -> u64 {
        if let Some(w) = word(slot) {
            w.store(value, Ordering::SeqCst);
        }
        0
    }
    /// Waits inside the board for a second caller; how many came.
    fn meet() -> u64 {
        ARRIVED.fetch_add(1, Ordering::SeqCst);
        while ARRIVED.load(Ordering::SeqCst) < 2 {
            core::hint::spin_loop();
        }
        ARRIVED.load(Ordering::SeqCst)
    }
}

fn main() -> i32 {
    println!("smp-board: ready (get, set, meet)");
    0
}
