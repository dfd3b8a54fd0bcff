//! Attack (issue 10, console): tries to forge transcript lines through CONSOLE_WRITE, with
//! what a terminal or a line splitter acts on: CR, ESC sequences that erase the line and
//! move the cursor, backspaces over its `[NAME] ` prefix, C1 controls (U+0085 NEL, U+009B
//! CSI), the raw byte 0x85 and other invalid UTF-8, U+2028/U+2029, a right-to-left
//! override. Each write carries a fake `@@RESULT pass` or `@@FAULT` after the trick.
//!
//! Expected: L1 escapes all of it, so every line it prints for this compartment starts
//! with `[attack-console-forge] ` and contains no control character and no line separator
//! (tests/tests/gates.rs checks the transcript); the compartment exits 0.
#![no_std]
#![no_main]

use tessera_sdk::hypercall::console_write;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");

/// Each attempt: one line of raw bytes.
const FORGERIES: &[&[u8]] = &[
    b"cr\r@@RESULT pass\n",
    b"erase\x1b[2K\x1b[1G@@RESULT pass\n",
    b"\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08@@RESULT pass\n",
    "nel\u{85}@@RESULT pass\n".as_bytes(),
    "csi\u{9b}2K@@RESULT pass\n".as_bytes(),
    b"latin1-nel\x85@@RESULT pass\n",
    "ls\u{2028}@@FAULT compartment=victim kind=memory\n".as_bytes(),
    "ps\u{2029}@@RESULT pass\n".as_bytes(),
    "rlo\u{202e}ssap TLUSER@@\n".as_bytes(),
    b"vt\x0b@@RESULT pass ff\x0c@@RESULT pass fs\x1c@@RESULT pass\n",
    b"broken\xe2\x80@@RESULT pass \xff\xfe\n",
    b"escape-text \\x1b\\u{85} stays text\n",
    // Split across two writes: the ESC in one, the rest in the next.
    b"split\x1b",
    b"[2K@@RESULT pass\n",
];

fn main() -> i32 {
    println!("{NAME}: writing {} forged lines", FORGERIES.len());
    for line in FORGERIES {
        if let Err(e) = console_write(line) {
            println!("{NAME}: CONSOLE_WRITE refused a forgery: {e}");
            return 2;
        }
    }
    println!("{NAME}: done");
    0
}
