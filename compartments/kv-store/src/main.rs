//! A key-value store as a compartment would offer one: `exec(len)` runs the command in
//! `kv[0..len]` (grant `kv`) and writes the reply to `kv[REPLY..]`, returning its length.
//! Commands: `set KEY VALUE`, `get KEY`, `count`.
//!
//! Its parser has a bug an attacker can reach: the undocumented `raw ADDR` writes a byte
//! to any address (as a parser that trusts a length or an index would). Exploited, the
//! store faults; its manifest entry says `restart = "on-fault"`, so the hypervisor
//! restarts it from its pristine image and it serves the next command, with an empty
//! store (nothing of the old run survives a restart).
#![no_std]
#![no_main]

use core::cell::RefCell;

use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

/// Where in the grant the reply goes.
const REPLY: usize = 2048;

/// The store. A compartment runs one activation at a time here: its manifest entry
/// says `max_depth = 1`, so no export of it is ever re-entered.
struct Store(RefCell<Vec<(String, String)>>);

// SAFETY: one thread of control, and `exec` is never re-entered (`max_depth = 1`), so
// the RefCell is never borrowed from two places at once.
unsafe impl Sync for Store {}

static STORE: Store = Store(RefCell::new(Vec::new()));

tessera_sdk::exports! {
    /// Runs the command in `kv[0..len]`; the reply is in `kv[REPLY..REPLY + result]`.
    fn exec(len: u64) -> u64 {
        let Ok(mut kv) = grant("kv") else { return 0 };
        let command = {
            let bytes = kv.bytes();
            let len = (len as usize).min(REPLY);
            String::from_utf8_lossy(&bytes[..len]).into_owned()
        };
        let reply = run(&command);
        let Some(mut out) = kv.bytes_mut() else { return 0 };
        let n = reply.len().min(out.len() - REPLY);
        out[REPLY..REPLY + n].copy_from_slice(&reply.as_bytes()[..n]);
        n as u64
    }
}

fn run(command: &str) -> String {
    let mut words = command.split(' ');
    let mut store = STORE.0.borrow_mut();
    match (words.next(), words.next(), words.next()) {
        (Some("set"), Some(key), Some(value)) => {
            store.retain(|(k, _)| k != key);
            store.push((key.into(), value.into()));
            "ok".into()
        }
        (Some("get"), Some(key), None) => store
            .iter()
            .find(|(k, _)| k == key)
            .map_or_else(|| "missing".into(), |(_, v)| v.clone()),
        (Some("count"), None, None) => format!("{}", store.len()),
        (Some("raw"), Some(addr), None) => {
            // The bug: an attacker-chosen address, written to.
            let addr = u64::from_str_radix(addr.trim_start_matches("0x"), 16).unwrap_or(0);
            // SAFETY: none: this is the deliberate memory-safety bug the scenario
            // exploits. Writing outside the store's own memory faults (contained).
            unsafe { core::ptr::write_volatile(core::hint::black_box(addr as *mut u8), 0x41) };
            "raw: written, not contained".into()
        }
        _ => "error".into(),
    }
}

fn main() -> i32 {
    println!(
        "kv-store: ready (restart_count={})",
        tessera_sdk::restart_count()
    );
    0
}
