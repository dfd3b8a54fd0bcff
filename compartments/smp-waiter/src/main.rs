//! On its vCPU, calls `victim.spin()`, which holds it inside the victim until released
//! or until the hypervisor ends the call. Then, if the call failed (the victim was
//! stopped while this vCPU was inside it), calls `victim.inside()` until the victim
//! answers again (restarted), and asks it `lives()`.
//!
//! One line: `@@APP compartment=waiter spin=W after=A inside=I lives=L polls=P` (W how
//! `spin()` ended, `ok` or `callee-failed`; A how the first answered call after it ended,
//! `none` when `spin()` returned; I and L the restarted victim's answers) and exit 0.
#![no_std]
#![no_main]

use smp_kit::{call_until_answered, word};
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

tessera_sdk::import! {
    victim = "victim" {
        fn spin() -> u64;
        fn inside() -> u64;
        fn lives() -> u64;
    }
}

fn main() -> i32 {
    println!(
        "waiter: calling victim.spin() on vCPU {}",
        tessera_sdk::cpu()
    );
    let spin = victim::spin();
    println!("waiter: victim.spin() -> {spin:?}");
    let (after, inside, lives, polls) = if spin.is_ok() {
        ("none", 0, 0, 0)
    } else {
        let (inside, polls) = call_until_answered(victim::inside);
        let lives = victim::lives();
        println!(
            "waiter: then victim.inside() -> {inside:?} after {polls} tries, lives() -> {lives:?}"
        );
        (
            word(&inside),
            inside.unwrap_or(9),
            lives.unwrap_or(9),
            polls,
        )
    };
    let sent = tessera_sdk::app!(
        spin = word(&spin),
        after = after,
        inside = inside,
        lives = lives,
        polls = polls,
    );
    i32::from(sent.is_err())
}
