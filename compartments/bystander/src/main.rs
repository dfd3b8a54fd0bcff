//! Runs last in the attack scenarios: by then every attacker has been stopped. Checks
//! the victim still answers through the gate, then says all is fine and exits 0.
#![no_std]
#![no_main]

use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

tessera_sdk::import! {
    victim {
        fn ping(x: u64) -> u64;
        fn secret_len() -> u64;
    }
}

fn main() -> i32 {
    const PROBE: u64 = 0x0B75_7A4D;
    match (victim::ping(PROBE), victim::secret_len()) {
        (Ok(PROBE), Ok(len)) => {
            println!("bystander: victim answers (ping ok, secret_len={len}); all fine");
            0
        }
        (ping, len) => {
            println!("bystander: victim misbehaves: ping -> {ping:?}, secret_len -> {len:?}");
            1
        }
    }
}
