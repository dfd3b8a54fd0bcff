//! Attack (issue 15, restart from a pristine image; docs/manifest.md "Lifecycle"): a
//! restarted compartment must find nothing of its previous life, and that includes its
//! call buffers, not only its image, heap and stack (scenario `restart-secrets`).
//!
//! First life (`restart_count() == 0`): fills the buffer of its edge to the victim with
//! a secret made at run time — what an encoded argument or reply of its old life would
//! leave there — and faults (`ud2`). The hypervisor restarts it (`restart = "on-fault"`)
//! and runs its `main` again. Second life: looks for any byte of the secret in that
//! buffer. Found: `not contained`, exit 1 (the restart kept its old life's data); none:
//! exit 0.
#![no_std]
#![no_main]

use attack_kit::layout::VICTIM_VIEW;
use attack_kit::not_contained;
use core::hint::black_box;
use tessera_sdk::abi::gate::{self, channels};
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");

/// Byte `i` of the secret (never 0, never in the image as such).
fn secret(i: usize) -> u8 {
    let x = black_box(0x5EC2_E7A5_7A1E_u64).rotate_left(i as u32 % 64);
    (x as u8) | 0x80
}

/// The call buffer of this compartment's edge to the victim.
fn buffer() -> Option<&'static mut [u8]> {
    let addr = (gate::CHANNELS + channels::OUT + 4 * VICTIM_VIEW) as *const u32;
    // SAFETY: the channel page is mapped read-only at its fixed address in every view;
    // this is an aligned u32 inside it.
    let entry = unsafe { addr.read_volatile() };
    let (gpa, bytes) = (channels::gpa(entry), channels::bytes(entry));
    // SAFETY: the hypervisor maps the buffer RW- in this view for `bytes` bytes at
    // `gpa` (identity-mapped) for the whole run; nothing else in this compartment uses it.
    (gpa != 0).then(|| unsafe { core::slice::from_raw_parts_mut(gpa as *mut u8, bytes as usize) })
}

fn main() -> i32 {
    let Some(buf) = buffer() else {
        println!("{NAME}: no call buffer to the victim (the scenario must give one)");
        return 2;
    };
    if tessera_sdk::restart_count() == 0 {
        println!(
            "{NAME}: leaving a secret in my {}-byte call buffer, then faulting",
            buf.len()
        );
        for (i, b) in buf.iter_mut().enumerate() {
            *b = black_box(secret(i));
        }
        // SAFETY: deliberately faulting: UD2 raises #UD, contained by the hypervisor.
        unsafe { core::arch::asm!("ud2", options(nomem, nostack)) };
        return 2;
    }
    let left = buf
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == secret(i))
        .count();
    if left != 0 {
        return not_contained(
            NAME,
            format_args!("restarted, {left} bytes of my old life's secret still in my call buffer"),
        );
    }
    println!(
        "{NAME}: restarted with a clean call buffer ({} bytes, restart_count={})",
        buf.len(),
        tessera_sdk::restart_count()
    );
    0
}
