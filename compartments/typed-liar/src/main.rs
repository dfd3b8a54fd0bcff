//! The callee of the typed-hostile scenario: serves `honest` properly, and answers
//! `lying::lie` from a hand-written export, each call worse than a reply may be:
//! 1. a length one past its call buffer;
//! 2. eight bytes of 0xff (no encoding of a String: an over-long varint length);
//! 3. a value that is neither a length nor a rejection code;
//! 4. then a valid reply, "ok".
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering};
use tessera_sdk::abi::gate::{self, channels, state};
use tessera_sdk::prelude::*;
use typed_api::honest::Honest;

tessera_sdk::entry!(main);

#[derive(Default)]
struct Server;

impl Honest for Server {
    fn shout(&mut self, text: &str) -> String {
        format!("{text}!")
    }

    fn shout_struct(&mut self, text: &str, marks: u8) -> typed_api::Shouted {
        typed_api::Shouted {
            text: format!("{text}{}", "!".repeat(marks.into())),
            marks,
        }
    }
}

tessera_sdk::serve!(typed_api::honest, Server);

/// Calls of `lie` so far.
static CALLS: AtomicU64 = AtomicU64::new(0);

/// The word at `addr` in a gate page.
fn word<T: Copy>(addr: u64) -> T {
    // SAFETY: only called with addresses in this view's state and channel pages, mapped
    // readable at fixed addresses in every view, aligned for `T`.
    unsafe { (addr as *const T).read_volatile() }
}

/// The call buffer of the caller this view is serving: `(address, bytes)`.
fn incoming() -> (u64, u64) {
    let depth: u64 = word(gate::STATE + state::DEPTH);
    let top = depth.saturating_sub(1).min(state::MAX_FRAMES - 1);
    let tag: u64 = word(gate::STATE + state::TAGS + 8 * top);
    let peer = state::peer(tag) % gate::SLOT_COUNT;
    let entry: u32 = word(gate::CHANNELS + channels::IN + 4 * peer);
    (channels::gpa(entry), channels::bytes(entry))
}

/// The hand-written export: ignores its arguments, answers per call number.
extern "C" fn lie(_len: u64, _fingerprint: u64) -> u64 {
    let (buffer, size) = incoming();
    let write = |bytes: &[u8]| {
        for (i, b) in bytes.iter().enumerate().take(size as usize) {
            let to = (buffer + i as u64) as *mut u8;
            // SAFETY: the buffer is mapped RW- in this view for `size` bytes (its
            // channel entry says so); `i` stays below `size`; nothing references it.
            unsafe { to.write_volatile(*b) };
        }
    };
    match CALLS.fetch_add(1, Ordering::Relaxed) {
        0 => size + 1,
        1 => {
            write(&[0xff; 8]);
            8
        }
        2 => 1 << 40,
        _ => {
            // A String "ok": varint length 2, then the bytes.
            write(&[2, b'o', b'k']);
            3
        }
    }
}

/// Keeps the notes of `lie` (the export and its signature, with the interface's
/// fingerprint) in the image, as `serve!` does for a served interface.
fn lie_notes() {
    tessera_sdk::__typed_export_note!(lie, lie, typed_api::lying::__fingerprint::lie);
}

#[used]
static LIE_NOTES: fn() = lie_notes;

fn main() {
    println!("typed-liar: ready");
}
