//! The vault's auditor: runs after the client was stopped for attacking the vault, and
//! is still served: the vault signs its message as if nothing had happened.
#![no_std]
#![no_main]

use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

tessera_sdk::import! {
    vault {
        fn sign(offset: u64, len: u64, out: u64) -> u64;
    }
}

const MESSAGE: &str = "audit: the vault still serves after the client was stopped";
const MAC_AT: usize = 2048;

tessera_sdk::grant!(
    /// The buffer shared with the vault.
    static MSG = "msg"
);

fn main() -> i32 {
    if let Err(e) = MSG.write(0, MESSAGE.as_bytes()) {
        println!("auditor: grant 'msg': {e}");
        return 1;
    }
    match vault::sign(0, MESSAGE.len() as u64, MAC_AT as u64) {
        Ok(32) => {}
        Ok(other) => {
            println!("auditor: vault refused the request ({other:#x})");
            return 1;
        }
        Err(e) => {
            println!("auditor: vault.sign failed: {e}");
            return 1;
        }
    }
    let mut mac = [0; 32];
    if let Err(e) = MSG.read(MAC_AT, &mut mac) {
        println!("auditor: grant 'msg': {e}");
        return 1;
    }
    let mac: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    println!("SIGNED by=auditor n=1 len={} mac={mac}", MESSAGE.len());
    0
}
