//! The `stop-restart` scenario's other vCPU: polls `victim.inside()` until the waiter is
//! inside the victim's `spin()` on vCPU 0, then calls `victim.crash()`, which faults in
//! the victim here: the victim's own fault, so the hypervisor stops it (and restarts it,
//! `restart = "on-fault"`) while vCPU 0 still executes it. Then calls `victim.inside()`
//! until the victim answers again, and asks it `lives()`.
//!
//! One line: `@@APP compartment=stopper seen=S crash=C after=A inside=I lives=L` (S 1
//! when it saw the waiter inside, C how `crash()` ended, A how the first answered call
//! after it ended, I and L the restarted victim's answers) and exit 0. If it never sees
//! the waiter inside, it crashes nothing (seen=0, crash=none).
#![no_std]
#![no_main]

use smp_kit::{call_until_answered, poll_until, word};
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

tessera_sdk::import! {
    victim = "victim" {
        fn inside() -> u64;
        fn crash() -> u64;
        fn lives() -> u64;
    }
}

fn main() -> i32 {
    let seen = poll_until(|| victim::inside() == Ok(1));
    println!(
        "stopper: on vCPU {}, waiter inside the victim: {seen:?}",
        tessera_sdk::cpu()
    );
    let (crash, after, inside, lives) = if seen.is_some() {
        let crash = victim::crash();
        println!("stopper: victim.crash() -> {crash:?}");
        let (inside, polls) = call_until_answered(victim::inside);
        let lives = victim::lives();
        println!(
            "stopper: then victim.inside() -> {inside:?} after {polls} tries, lives() -> {lives:?}"
        );
        (
            word(&crash),
            word(&inside),
            inside.unwrap_or(9),
            lives.unwrap_or(9),
        )
    } else {
        ("none", "none", 9, 9)
    };
    let sent = tessera_sdk::app!(
        seen = u8::from(seen.is_some()),
        crash = crash,
        after = after,
        inside = inside,
        lives = lives,
    );
    i32::from(sent.is_err())
}
