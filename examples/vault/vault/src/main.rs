//! The vault: holds a 32-byte key in its own memory and signs messages others put in the
//! shared grant `msg`. Nothing exports the key or its address; other compartments cannot
//! map the vault's memory at all.
#![no_std]
#![no_main]

use tessera_sdk::prelude::*;
use vault_mac::{MAC_LEN, hmac_sha256};

tessera_sdk::entry!(main);

/// The signing key ([`vault_mac::DEMO_KEY`], fixed so that tests can check the MACs in
/// the transcript; a real vault would receive or derive its key at run time). Either way
/// it lives only in this compartment's memory.
static KEY: [u8; 32] = vault_mac::DEMO_KEY;

/// What `sign` returns when the request does not fit the grant (or there is no grant).
const BAD_REQUEST: u64 = u64::MAX;

tessera_sdk::exports! {
    /// Signs `msg[offset .. offset + len]` of the grant `msg` with HMAC-SHA256 and
    /// writes the 32-byte MAC to `msg[out .. out + 32]`. Returns 32, or `u64::MAX` if a
    /// range does not fit the grant.
    fn sign(offset: u64, len: u64, out: u64) -> u64 {
        sign_in_grant(offset, len, out).unwrap_or(BAD_REQUEST)
    }
}

tessera_sdk::grant!(
    /// The shared buffer: looked up on the first request (one GRANT exit for the vault's
    /// life), plain memory access afterwards.
    static MSG = "msg"
);

fn sign_in_grant(offset: u64, len: u64, out: u64) -> Option<u64> {
    let range = |start: u64, len: u64| -> Option<core::ops::Range<usize>> {
        let start = usize::try_from(start).ok()?;
        let end = start.checked_add(usize::try_from(len).ok()?)?;
        Some(start..end)
    };
    MSG.with_mut(|buf| {
        let mac = hmac_sha256(&KEY, buf.get(range(offset, len)?)?);
        buf.get_mut(range(out, MAC_LEN as u64)?)?
            .copy_from_slice(&mac);
        Some(MAC_LEN as u64)
    })
    .ok()?
}

fn main() -> i32 {
    println!(
        "vault: ready to sign ({}-byte key, never exported)",
        KEY.len()
    );
    0
}
