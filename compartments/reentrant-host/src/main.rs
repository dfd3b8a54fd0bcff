//! Re-entrant unwinding (DESIGN §6 property 6) and its bound:
//!
//! 1. `main` calls reentrant-plugin's `work`, which calls back this compartment's `cb`,
//!    which calls the plugin's `inner`, which faults. `cb` must get `CalleeFailed` and
//!    return normally — into the stopped plugin — and then `work` must return
//!    `CalleeFailed` too. This compartment is never stopped.
//! 2. Mutual recursion with reentrant-echo, `down(n)` → echo's `down(n)` → `down(n)`...:
//!    each compartment allows 16 nested activations (`max_depth` default), so the 17th
//!    call into one of them is refused with `TooDeep`: 32 nested calls succeed.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering};
use tessera_sdk::gate::CallError;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

tessera_sdk::import! {
    plugin = "reentrant-plugin" {
        fn work() -> u64;
        fn inner() -> u64;
    }
    echo = "reentrant-echo" {
        fn down(n: u64) -> u64;
    }
}

/// What `cb` got from the plugin's `inner`.
static CB_SAW: AtomicU64 = AtomicU64::new(0);

tessera_sdk::exports! {
    /// Called back by the plugin's `work`: calls the plugin's `inner`.
    fn cb() -> u64 {
        let saw = match plugin::inner() {
            Err(CallError::CalleeFailed) => 1,
            _ => 2,
        };
        CB_SAW.store(saw, Ordering::Relaxed);
        0x0CB
    }

    /// Recursion: how many nested calls below this one succeeded, counting this one.
    fn down(n: u64) -> u64 {
        if n == 0 {
            return 1;
        }
        match echo::down(n - 1) {
            Ok(depth) => depth + 1,
            Err(CallError::TooDeep) => 1,
            Err(_) => 0,
        }
    }
}

fn main() -> i32 {
    let work = plugin::work();
    let cb = CB_SAW.load(Ordering::Relaxed);
    println!("reentrant-host: cb saw {cb} (1 = CalleeFailed); work -> {work:?}");
    if cb != 1 || work != Err(CallError::CalleeFailed) {
        return 1;
    }
    // 100 levels asked for; TooDeep ends it.
    let depth = match echo::down(100) {
        Ok(depth) => depth,
        Err(e) => {
            println!("reentrant-host: echo.down -> {e}");
            return 1;
        }
    };
    println!("reentrant-host: recursion reached {depth} nested calls, then TooDeep");
    if depth != 32 {
        return 1;
    }
    println!("reentrant-host: all fine");
    0
}
