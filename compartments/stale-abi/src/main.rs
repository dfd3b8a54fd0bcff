//! An image built as if against an older ABI: the same SDK, but `entry!` told to write
//! ABI version 1 into the image's ABI-version note (docs/images.md). The hypervisor reads
//! the note before any of the image's code runs and must refuse this image alone:
//! `@@REJECT module=stale-abi problem=abi-version image_abi=1 hypervisor_abi=N
//! message=...built against ABI 1, this hypervisor speaks ABI N...`. Its `main` never
//! runs; should it, it says so.
#![no_std]
#![no_main]

use attack_kit::not_contained;

/// The ABI this image claims: one the hypervisor does not speak (the first; today's is
/// `tessera_abi::ABI_VERSION`, above it).
const CLAIMED_ABI: u32 = 1;

const _: () = assert!(CLAIMED_ABI != tessera_sdk::abi::ABI_VERSION);

tessera_sdk::entry!(main, abi_version = CLAIMED_ABI);

const NAME: &str = env!("CARGO_PKG_NAME");

fn main() -> i32 {
    not_contained(
        NAME,
        format_args!("an image built against ABI {CLAIMED_ABI} was loaded and ran"),
    )
}
