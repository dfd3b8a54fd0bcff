//! The SMP scenarios' victim (`compartments/smp/stop-restart`, `smp/attack`): a
//! `parallel` compartment, so its exports run on several vCPUs at once.
//!
//! - `spin()` sets `INSIDE` in its own static and spins until `release()` was called,
//!   then returns 1. Nothing else bounds it: if nothing releases it, only the hypervisor
//!   ends it (the stop barrier's unwind when it is stopped on another vCPU; else its
//!   watchdog, `@@FAULT kind=watchdog`, which the tests take as a failure).
//! - `inside()`: `INSIDE` (1 once a `spin()` began in this life, 0 in a new life: a
//!   restart rewrites its data from the pristine image).
//! - `release()`: lets every `spin()` return; returns 0.
//! - `crash()`: executes `ud2`: its own fault (`@@FAULT kind=exception vector=6`).
//! - `lives()`: how often it was restarted (`tessera_sdk::restart_count()`).
#![no_std]
#![no_main]

use core::arch::asm;
use core::sync::atomic::{AtomicU64, Ordering};

use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

static INSIDE: AtomicU64 = AtomicU64::new(0);
static RELEASED: AtomicU64 = AtomicU64::new(0);

tessera_sdk::exports! {
    /// Marks `INSIDE` and spins until released; 1.
    fn spin() -> u64 {
        INSIDE.store(1, Ordering::SeqCst);
        while RELEASED.load(Ordering::SeqCst) == 0 {
            core::hint::spin_loop();
        }
        1
    }
    /// `INSIDE`.
    fn inside() -> u64 {
        INSIDE.load(Ordering::SeqCst)
    }
    /// Releases every `spin()`; 0.
    fn release() -> u64 {
        RELEASED.store(1, Ordering::SeqCst);
        0
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
    println!("smp-victim: ready (spin, inside, release, crash, lives)");
    0
}
