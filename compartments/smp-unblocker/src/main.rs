//! The `stop-waiting` scenario's vCPU 1: waits until the waiter's call reached `deep`
//! through the victim (A → V → B with B running on vCPU 0), then stops the victim with
//! `victim.crash()` (its own fault, here). vCPU 0 executes `deep`, not the victim, so
//! the stop barrier leaves it alone. Then it checks the victim is not restarted while
//! vCPU 0 still has a frame of it (`lives()` refused), that `deep` still runs its spin
//! (`inside() = 1`: nobody stopped or unwound it), and releases `deep`: its `spin()`
//! returns into the stopped victim on vCPU 0, whose gate refuses the reply, and L1
//! unwinds the waiter's call there; only then is the victim restarted. Last, it calls
//! `victim.lives()` until answered.
//!
//! One line: `@@APP compartment=unblocker seen=S crash=C during=D deep=I release=R
//! after=A lives=L` (S 1 when it saw deep inside; C, D, R, A how those calls ended; I
//! deep's `inside()`, 9 for an error; L the restarted victim's `lives()`) and exit 0.
#![no_std]
#![no_main]

use smp_kit::{call_until_answered, poll_until, word};
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

tessera_sdk::import! {
    victim = "victim" {
        fn crash() -> u64;
        fn lives() -> u64;
    }
    deep = "deep" {
        fn inside() -> u64;
        fn release() -> u64;
    }
}

fn main() -> i32 {
    let seen = poll_until(|| deep::inside() == Ok(1));
    println!(
        "unblocker: on vCPU {}, waiter inside deep: {seen:?}",
        tessera_sdk::cpu()
    );
    if seen.is_none() {
        let sent = tessera_sdk::app!(seen = 0);
        return i32::from(sent.is_err());
    }
    let crash = victim::crash();
    let during = victim::lives();
    let inside = deep::inside();
    let release = deep::release();
    println!(
        "unblocker: victim.crash() -> {crash:?}, victim.lives() -> {during:?}, \
         deep.inside() -> {inside:?}, deep.release() -> {release:?}"
    );
    let (lives, polls) = call_until_answered(victim::lives);
    println!("unblocker: then victim.lives() -> {lives:?} after {polls} tries");
    let sent = tessera_sdk::app!(
        seen = 1,
        crash = word(&crash),
        during = word(&during),
        deep = inside.unwrap_or(9),
        release = word(&release),
        after = word(&lives),
        lives = lives.unwrap_or(9),
    );
    i32::from(sent.is_err())
}
