//! The `serial-busy` scenario (docs/gates.md "Manifest: `concurrency` and `cpu`"), on one
//! vCPU. `held` (serial) and `held-parallel` (parallel) are `serial-callee`s whose mains
//! ran before this one and left their OWNER word = 2 (vCPU 1's); `fresh` (serial) is one
//! whose main runs after this one, so its OWNER is still 0. This main calls:
//!
//! 1. `held.owner()`: its gate finds OWNER held by another vCPU and refuses with BUSY,
//!    running nothing;
//! 2. `held-parallel.owner()`: a parallel view's gate takes no OWNER: it answers 2;
//! 3. `fresh.owner()`: the gate claimed OWNER for vCPU 0 before the export ran: 1;
//! 4. `fresh.set_owner(2)`, then `fresh.owner()`: the activation that claimed OWNER
//!    stored 0 into it when it returned (after the export wrote 2), so the next call
//!    claims it again: 1 (without the release it would find 2 and be refused, BUSY).
//!
//! Prints what each call got, then one line
//! `@@APP compartment=serial-caller busy=B parallel=P claimed=C reclaimed=R` (B = 1 when
//! call 1 was refused with BUSY, P, C, R the answers of calls 2, 3 and 4's second call, 0
//! for an error), and exits 0 when all are as above, else 1.
#![no_std]
#![no_main]

use tessera_sdk::gate::CallError;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

tessera_sdk::import! {
    held = "held" {
        fn owner() -> u64;
    }
    held_parallel = "held-parallel" {
        fn owner() -> u64;
    }
    fresh = "fresh" {
        fn owner() -> u64;
        fn set_owner(value: u64) -> u64;
    }
}

fn main() -> i32 {
    let busy = held::owner();
    match busy {
        Err(e) => println!("serial-caller: held.owner() -> {e}"),
        Ok(v) => println!("serial-caller: held.owner() -> Ok({v}), expected Busy"),
    }
    let parallel = held_parallel::owner();
    println!("serial-caller: held-parallel.owner() -> {parallel:?}");
    let claimed = fresh::owner();
    println!("serial-caller: fresh.owner() -> {claimed:?}");
    let set = fresh::set_owner(2);
    let reclaimed = fresh::owner();
    println!("serial-caller: fresh.set_owner(2) -> {set:?}, then fresh.owner() -> {reclaimed:?}");
    let sent = tessera_sdk::app!(
        busy = u8::from(busy == Err(CallError::Busy)),
        parallel = parallel.unwrap_or(0),
        claimed = claimed.unwrap_or(0),
        reclaimed = reclaimed.unwrap_or(0),
    );
    let all = busy == Err(CallError::Busy)
        && parallel == Ok(2)
        && claimed == Ok(1)
        && set == Ok(0)
        && reclaimed == Ok(1);
    i32::from(!all || sent.is_err())
}
