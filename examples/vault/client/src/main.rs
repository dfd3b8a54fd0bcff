//! The vault's client: has three messages signed through the shared grant `msg`, prints
//! the MACs, then tries to read the vault's key directly. That read must be stopped by
//! the hypervisor (`@@FAULT compartment=client kind=memory ...`): the vault's memory is
//! not mapped in the client's view.
#![no_std]
#![no_main]

use core::ptr;

use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

tessera_sdk::import! {
    vault {
        /// MAC of `msg[offset..offset + len]` into `msg[out..out + 32]`; returns 32.
        fn sign(offset: u64, len: u64, out: u64) -> u64;
    }
}

/// The vault is the first compartment of the manifest, so its region is the first one
/// the layout plans: its image starts at the regions' base (hypervisor/core/src/layout.rs,
/// `REGIONS_BASE`). The key is somewhere in that image.
const VAULT_REGION_BASE: u64 = 0x0100_0000;

/// Where in the grant the vault writes the MAC.
const MAC_AT: usize = 2048;

const MESSAGES: [&str; 3] = [
    "attack at dawn",
    "transfer 100 coins to bob",
    "the quick brown fox jumps over the lazy dog",
];

tessera_sdk::grant!(
    /// The buffer shared with the vault (and the auditor).
    static MSG = "msg"
);

fn main() -> i32 {
    for (n, text) in MESSAGES.iter().enumerate() {
        match sign(text.as_bytes()) {
            Ok(mac) => println!(
                "SIGNED by=client n={} len={} mac={}",
                n + 1,
                text.len(),
                hex(&mac)
            ),
            Err(e) => {
                println!("client: signing message {} failed: {e}", n + 1);
                return 1;
            }
        }
    }

    println!(
        "client: now reading the vault's key straight from its memory at {VAULT_REGION_BASE:#x}"
    );
    for offset in [0, 0x1000, 0x2000] {
        let addr = VAULT_REGION_BASE + offset;
        // SAFETY: deliberately malicious: the vault's region is not mapped in this view,
        // so the hypervisor must stop this compartment at the first read. Should the read
        // succeed, it reads a plain u64 and nothing relies on its value.
        let value = unsafe { ptr::read_volatile(core::hint::black_box(addr as *const u64)) };
        println!("client: read {addr:#x} = {value:#x}: not contained");
    }
    1
}

/// Puts `text` in the grant, has the vault sign it, and returns the MAC. Copies in and
/// out ([`StaticGrant::write`] / [`StaticGrant::read`]): no reference into the shared
/// buffer exists while the vault runs.
fn sign(text: &[u8]) -> Result<[u8; 32], String> {
    MSG.write(0, text).map_err(|e| format!("{e}"))?;
    match vault::sign(0, text.len() as u64, MAC_AT as u64) {
        Ok(32) => {}
        Ok(other) => return Err(format!("vault refused the request ({other:#x})")),
        Err(e) => return Err(format!("{e}")),
    }
    let mut mac = [0; 32];
    MSG.read(MAC_AT, &mut mac).map_err(|e| format!("{e}"))?;
    Ok(mac)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
