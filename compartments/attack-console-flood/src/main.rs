//! Attack (issue 10, console): floods the console. Without a limit a compartment can fill
//! the transcript (and the serial line's time) at will; its budget (manifest `console=`,
//! default 64 KiB, no key in the scenario) must end its output with one
//! `@@TRUNCATED compartment=attack-console-flood` line.
//!
//! Writes 100-byte lines until CONSOLE_WRITE returns OVER_BUDGET, then checks that a
//! REPORT and another write are refused too, and exits 0: it keeps running. If 256 KiB
//! went through it prints `not contained` and exits 1.
#![no_std]
#![no_main]

use attack_kit::not_contained;
use tessera_sdk::abi::error;
use tessera_sdk::hypercall::{Error, console_write};
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");
const LINE: usize = 100;
const LIMIT: usize = 256 * 1024;

fn main() -> i32 {
    println!("{NAME}: writing {LINE}-byte lines until the console refuses");
    let mut line = [b'f'; LINE];
    line[LINE - 1] = b'\n';
    let mut sent = 0;
    while sent < LIMIT {
        match console_write(&line) {
            Ok(()) => sent += LINE,
            Err(Error(error::OVER_BUDGET)) => break,
            Err(e) => {
                println!("{NAME}: CONSOLE_WRITE failed otherwise: {e}");
                return 2;
            }
        }
    }
    if sent >= LIMIT {
        return not_contained(NAME, format_args!("{sent} bytes printed, no budget"));
    }
    let report = tessera_sdk::report!("ROUNDTRIPS", "n={sent}").map_err(Error::from);
    let again = console_write(b"after the budget\n");
    if report != Err(Error(error::OVER_BUDGET)) || again != Err(Error(error::OVER_BUDGET)) {
        return not_contained(
            NAME,
            format_args!("after the budget: REPORT -> {report:?}, CONSOLE_WRITE -> {again:?}"),
        );
    }
    // Still running: the exit is seen as @@EXIT code=0.
    0
}
