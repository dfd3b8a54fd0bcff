//! Every error a hypercall's doc comment promises (tessera_abi::hypercall,
//! tessera_abi::error), checked end to end through the kernel. Its manifest entry (scenario
//! `hypercalls`) allows console, lookup, grant, report and register_export, calls the
//! victim, exports `probe` and is granted `abi` read-only.
//!
//! Prints one line per mismatch (`hypercall-errors: CASE -> got, documented`) and exits 1
//! if there is any; otherwise prints `every documented error code` and exits 0.
#![no_std]
#![no_main]

use tessera_sdk::abi::{error, hypercall as nr};
use tessera_sdk::hypercall::{hypercall, hypercall3};
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");

tessera_sdk::exports! {
    /// Exists so REGISTER_EXPORT has a declared name to test with (in the export table).
    fn probe() -> u64 {
        7
    }
}

/// Data, not code: REGISTER_EXPORT must refuse it as a function address.
static NOT_CODE: [u8; 16] = [0xC3; 16];

/// Makes hypercall `number` with `args`.
fn call(number: u64, args: [u64; 4]) -> i64 {
    // SAFETY: every pointer argument below is either a live slice of this compartment
    // (valid for its length) or deliberately invalid for a hypercall that only reads and
    // must refuse it; none of these hypercalls writes memory.
    unsafe { hypercall(number, args[0], args[1], args[2], args[3], 0, 0) }
}

fn buf(bytes: &[u8]) -> (u64, u64) {
    (bytes.as_ptr() as u64, bytes.len() as u64)
}

fn main() -> i32 {
    let long = [b'a'; 65];
    let bad_utf8 = [0xFFu8, b'x'];
    let (victim, victim_len) = buf(b"victim");
    let (ping, ping_len) = buf(b"ping");
    let (long_ptr, long_len) = buf(&long);
    let (bad, bad_len) = buf(&bad_utf8);
    let (abi, abi_len) = buf(b"abi");
    let (kv, kv_len) = buf(b"KV puts=3");
    let (probe_name, probe_len) = buf(b"probe");
    let probe_fn = probe as extern "C" fn() -> u64 as usize as u64;
    let other_code = buf as fn(&[u8]) -> (u64, u64) as usize as u64;
    let big = [b'x'; 4097];
    let (big_ptr, _) = buf(&big);

    let cases: &[(&str, u64, [u64; 4], i64)] = &[
        // The number first, then the manifest.
        ("unknown number 99", 99, [0; 4], error::UNKNOWN_HYPERCALL),
        (
            "unknown number COUNT (the first past the table)",
            nr::COUNT as u64,
            [0; 4],
            error::UNKNOWN_HYPERCALL,
        ),
        (
            "EXIT_COUNT not in hypercalls=",
            nr::EXIT_COUNT,
            [0; 4],
            error::NOT_PERMITTED,
        ),
        (
            "APP_REPORT not in hypercalls= (report is)",
            nr::APP_REPORT,
            [0; 4],
            error::NOT_PERMITTED,
        ),
        (
            "SWITCH_VIEW outside the fixture",
            nr::SWITCH_VIEW,
            [0; 4],
            error::NOT_PERMITTED,
        ),
        (
            "CONFORMANCE_REPORT outside the fixture",
            nr::CONFORMANCE_REPORT,
            [0; 4],
            error::NOT_PERMITTED,
        ),
        // LOOKUP.
        (
            "LOOKUP victim.ping",
            nr::LOOKUP,
            [victim, victim_len, ping, ping_len],
            1,
        ),
        (
            "LOOKUP with a 65-byte export name",
            nr::LOOKUP,
            [victim, victim_len, long_ptr, long_len],
            error::TOO_LARGE,
        ),
        (
            "LOOKUP with a 65-byte compartment name",
            nr::LOOKUP,
            [long_ptr, long_len, ping, ping_len],
            error::TOO_LARGE,
        ),
        (
            "LOOKUP of a name that is not UTF-8",
            nr::LOOKUP,
            [bad, bad_len, ping, ping_len],
            error::NO_SUCH_EXPORT,
        ),
        (
            "LOOKUP of an undeclared export",
            nr::LOOKUP,
            [victim, victim_len, abi, abi_len],
            error::NO_SUCH_EXPORT,
        ),
        (
            "LOOKUP of an empty compartment name",
            nr::LOOKUP,
            [probe_name, 0, ping, ping_len],
            error::NO_SUCH_EXPORT,
        ),
        (
            "LOOKUP with an unreadable name",
            nr::LOOKUP,
            [0, 4, ping, ping_len],
            error::BAD_POINTER,
        ),
        // GRANT.
        (
            "GRANT with a 65-byte name",
            nr::GRANT,
            [long_ptr, long_len, 0, 0],
            error::TOO_LARGE,
        ),
        (
            "GRANT of a name that is not UTF-8",
            nr::GRANT,
            [bad, bad_len, 0, 0],
            error::NO_SUCH_GRANT,
        ),
        (
            "GRANT of no grant",
            nr::GRANT,
            [ping, ping_len, 0, 0],
            error::NO_SUCH_GRANT,
        ),
        // CONSOLE_WRITE, REPORT.
        (
            "CONSOLE_WRITE of 4097 bytes",
            nr::CONSOLE_WRITE,
            [big_ptr, 4097, 0, 0],
            error::TOO_LARGE,
        ),
        (
            "CONSOLE_WRITE at address 0",
            nr::CONSOLE_WRITE,
            [0, 1, 0, 0],
            error::BAD_POINTER,
        ),
        (
            "REPORT of 1025 bytes",
            nr::REPORT,
            [big_ptr, 1025, 0, 0],
            error::TOO_LARGE,
        ),
        (
            "REPORT of bytes that are not text",
            nr::REPORT,
            [bad, bad_len, 0, 0],
            error::BAD_REPORT,
        ),
        (
            "REPORT of a word of its own",
            nr::REPORT,
            [kv, kv_len, 0, 0],
            error::NO_SUCH_WORD,
        ),
        // REGISTER_EXPORT (from main, so allowed): the export table fixed `probe` at load;
        // its own address is a no-op, any other code BAD_STATE.
        (
            "REGISTER_EXPORT probe again",
            nr::REGISTER_EXPORT,
            [probe_name, probe_len, probe_fn, 0],
            0,
        ),
        (
            "REGISTER_EXPORT probe as other code",
            nr::REGISTER_EXPORT,
            [probe_name, probe_len, other_code, 0],
            error::BAD_STATE,
        ),
        (
            "REGISTER_EXPORT of an undeclared name",
            nr::REGISTER_EXPORT,
            [ping, ping_len, probe_fn, 0],
            error::NO_SUCH_EXPORT,
        ),
        (
            "REGISTER_EXPORT with a 65-byte name",
            nr::REGISTER_EXPORT,
            [long_ptr, long_len, probe_fn, 0],
            error::TOO_LARGE,
        ),
        (
            "REGISTER_EXPORT of data as code",
            nr::REGISTER_EXPORT,
            [probe_name, probe_len, NOT_CODE.as_ptr() as u64, 0],
            error::BAD_POINTER,
        ),
    ];
    let mut wrong = 0;
    for (what, number, args, documented) in cases {
        let got = call(*number, *args);
        if got != *documented {
            println!("{NAME}: {what} -> {got}, documented {documented}");
            wrong += 1;
        }
    }
    // LOOKUP of a compartment the manifest does not let it call.
    let (bystander, bystander_len) = buf(b"bystander");
    let got = call(nr::LOOKUP, [bystander, bystander_len, ping, ping_len]);
    if got != error::NOT_PERMITTED {
        println!("{NAME}: LOOKUP of bystander.ping -> {got}, documented NOT_PERMITTED");
        wrong += 1;
    }
    // GRANT's outputs: RDX = size, R10 = writable.
    // SAFETY: GRANT only reads the name, a live slice.
    let (gpa, size, writable) = unsafe { hypercall3(nr::GRANT, abi, abi_len, 0, 0, 0, 0) };
    if gpa <= 0 || size != 4096 || writable != 0 {
        println!("{NAME}: GRANT abi -> {gpa:#x}, size {size}, writable {writable}");
        wrong += 1;
    }
    if wrong == 0 {
        println!("{NAME}: every documented error code");
        0
    } else {
        1
    }
}
