//! The `attack` scenario's last main on vCPU 1, after the attackers: asks
//! `victim.inside()` (still 1: the attacks changed nothing of the victim, and vCPU 0 is
//! still inside it), then `victim.release()`, which lets the waiter's `spin()` return.
//!
//! One line: `@@APP compartment=releaser inside=I release=R` (I the answer, 9 for an
//! error; R how `release()` ended) and exit 0.
#![no_std]
#![no_main]

use smp_kit::word;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

tessera_sdk::import! {
    victim = "victim" {
        fn inside() -> u64;
        fn release() -> u64;
    }
}

fn main() -> i32 {
    let inside = victim::inside();
    let release = victim::release();
    println!("releaser: victim.inside() -> {inside:?}, victim.release() -> {release:?}");
    let sent = tessera_sdk::app!(inside = inside.unwrap_or(9), release = word(&release));
    i32::from(sent.is_err())
}
