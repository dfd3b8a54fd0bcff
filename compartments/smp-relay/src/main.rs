//! The `stop-waiting` scenario's victim (`compartments/smp/stop-waiting`): a `parallel`
//! compartment between the waiter and `deep` (A → V → B in docs/gates.md "Faults, stops
//! and restarts across vCPUs", step 3).
//!
//! - `spin()`: sets `RELAYING` in its own static and calls `deep.spin()`, which holds
//!   the caller's vCPU inside `deep` (not here) until `deep.release()`; returns what
//!   deep answered, or 0 if it refused.
//! - `inside()`: `RELAYING` (0 in a new life).
//! - `crash()`: `ud2`, its own fault.
//! - `lives()`: how often it was restarted.
#![no_std]
#![no_main]

use core::arch::asm;
use core::sync::atomic::{AtomicU64, Ordering};

use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

static RELAYING: AtomicU64 = AtomicU64::new(0);

tessera_sdk::import! {
    deep = "deep" {
        fn spin() -> u64;
    }
}

tessera_sdk::exports! {
    /// Waits in `deep.spin()`; its answer.
    fn spin() -> u64 {
        RELAYING.store(1, Ordering::SeqCst);
        deep::spin().unwrap_or(0)
    }
    /// `RELAYING`.
    fn inside() -> u64 {
        RELAYING.load(Ordering::SeqCst)
    }
    /// Faults: `ud2` raises #UD in this compartment.
    fn crash() -> u64 {
        // SAFETY: deliberately faulting: UD2 raises #UD (Intel SDM Vol. 2B, UD), which
        // the hypervisor contains in this compartment; it touches no memory or register.
        unsafe { asm!("ud2", options(nomem, nostack)) };
        0
    }
    /// Times the hypervisor restarted this compartment.
    fn lives() -> u64 {
        tessera_sdk::restart_count()
    }
}

fn main() -> i32 {
    println!("smp-relay: ready (spin via deep, inside, crash, lives)");
    0
}
