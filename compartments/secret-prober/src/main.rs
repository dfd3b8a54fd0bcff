//! Has secret-keeper keep a secret (its scan must find it: the scan works), crash (the
//! call fails, it is restarted) and scan itself again: no copy may survive. Exits 0 if so.
#![no_std]
#![no_main]

use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

tessera_sdk::import! {
    keeper = "secret-keeper" {
        fn keep(seed: u64) -> u64;
        fn crash() -> u64;
        fn scan(seed: u64) -> u64;
    }
}

const SEED: u64 = 0x5EC2_E7F0_0D15_EA5E;

fn main() -> i32 {
    let before = keeper::keep(SEED);
    println!("secret-prober: copies before the crash: {before:?}");
    let crash = keeper::crash();
    println!("secret-prober: crash -> {crash:?}");
    let after = keeper::scan(SEED);
    println!(
        "SCAN copies_before={} copies_after={}",
        show(before),
        show(after)
    );
    let ok = matches!(before, Ok(n) if n >= 3)
        && crash == Err(CallError::CalleeFailed)
        && after == Ok(0);
    i32::from(!ok)
}

fn show(r: Result<u64, CallError>) -> String {
    match r {
        Ok(n) => format!("{n}"),
        Err(e) => format!("error:{e}").replace(' ', "-"),
    }
}
