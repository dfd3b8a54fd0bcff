//! Attack (DESIGN §6, property 5): writes its own gate info page at `gate::INFO` (the value it reads there, so a
//! write that got through would do no damage but still be caught). Expected: an EPT
//! write violation, because the page is read-only: it holds the view id, export table and allowed callers the gate trusts.
#![no_std]
#![no_main]

use tessera_sdk::abi::gate;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");

fn main() -> i32 {
    // SAFETY: deliberately malicious (property 5); the hypervisor must stop this
    // compartment at the write.
    unsafe { attack_kit::rewrite_u64(NAME, "its own gate info page", gate::INFO) }
}
