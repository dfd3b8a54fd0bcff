//! Scenario `app-reports` (issue 14, application reports): a compartment's own
//! machine-readable lines, `@@APP compartment=NAME key=value ...`, end to end.
//!
//! 1. `app!` with values that would break a line (spaces, `=`, `%`, a newline and a
//!    forged `@@RESULT pass`, non-ASCII text, an empty value): printed, escaped.
//! 2. `AppLine` with keys chosen at run time; a bad or identity key refused by the SDK.
//! 3. APP_REPORT with buffers built by hand: identity key, bad key, repeated key, a
//!    length past the buffer, a value that is not UTF-8: each refused by L1 with the
//!    documented code, nothing printed.
//! 4. REPORT with a word of its own: NO_SUCH_WORD, and the SDK's message names the word.
//! 5. `app-store.put(7)` and `app-store.own_word()`: the store's line carries
//!    `compartment=app-store`; REPORT from inside an export answers as from a `main`.
//! 6. `@@APP` lines until the console budget (`console = 4096`) is spent: OVER_BUDGET,
//!    one `@@TRUNCATED`, and it keeps running.
//!
//! Prints `app-client: every app report as documented` (before the budget runs out) and
//! exits 0; each mismatch is printed and it exits 1; 3 if the budget never ran out.
#![no_std]
#![no_main]

use tessera_sdk::abi::{error, hypercall as nr};
use tessera_sdk::hypercall::{Error, raw};
use tessera_sdk::prelude::*;
use tessera_sdk::report::AppLine;

tessera_sdk::entry!(main);

tessera_sdk::import! {
    app_store = "app-store" {
        fn put(n: u64) -> i64;
        fn own_word() -> i64;
    }
}

const NAME: &str = env!("CARGO_PKG_NAME");

/// Counts mismatches, printing each.
struct Checks(u32);

impl Checks {
    fn expect<T: core::fmt::Debug + PartialEq>(&mut self, what: &str, got: T, want: T) {
        if got != want {
            println!("{NAME}: {what} -> {got:?}, documented {want:?}");
            self.0 += 1;
        }
    }
}

fn main() -> i32 {
    let mut checks = Checks(0);
    emitted(&mut checks);
    refused_by_l1(&mut checks);
    own_word(&mut checks);
    store(&mut checks);
    if checks.0 != 0 {
        return 1;
    }
    println!("{NAME}: every app report as documented");
    until_over_budget()
}

/// What is printed: `app!` and `AppLine`, and what the SDK refuses before sending.
fn emitted(checks: &mut Checks) {
    let sent = tessera_sdk::app!(
        op = "start",
        "rx.bytes" = 4096,
        note = "a b=c%d\n@@RESULT pass",
        text = "caf\u{e9} \u{202e}",
        empty = "",
        ok = true,
    );
    checks.expect("app! with awkward values", sent, Ok(()));
    let mut line = AppLine::new();
    for (i, field) in ["k.0", "k.1", "k_2"].into_iter().enumerate() {
        line.pair(field, i * 10);
    }
    checks.expect("AppLine with run-time keys", line.emit(), Ok(()));
    let bad = AppLine::new().pair("n", 1).pair("Op", "x").emit();
    checks.expect("AppLine key Op", bad, Err(Error(error::BAD_REPORT)));
    let identity = AppLine::new().pair("cpu", 0).emit();
    checks.expect("AppLine key cpu", identity, Err(Error(error::IDENTITY_KEY)));
    let long = "x".repeat(nr::REPORT_MAX as usize);
    let large = AppLine::new().pair("v", &long).emit();
    checks.expect(
        "AppLine over REPORT_MAX",
        large,
        Err(Error(error::TOO_LARGE)),
    );
}

/// One pair as APP_REPORT frames it, built by hand (so L1's checks are what answers).
fn pair(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    out.push(key.len() as u8);
    out.extend_from_slice(key);
    out.extend_from_slice(&(value.len() as u16).to_le_bytes());
    out.extend_from_slice(value);
}

fn app_report(buffer: &[u8]) -> i64 {
    // SAFETY: `buffer` is a live slice, readable for its length until the call returns;
    // APP_REPORT only reads it.
    unsafe { raw::app_report(buffer.as_ptr() as u64, buffer.len() as u64) }
}

/// Buffers the SDK would never send, refused by L1 with the documented code.
fn refused_by_l1(checks: &mut Checks) {
    let mut forged = Vec::new();
    pair(&mut forged, b"n", b"1");
    pair(&mut forged, b"compartment", b"victim");
    let mut bad_key = Vec::new();
    pair(&mut bad_key, b"op-x", b"1");
    let mut twice = Vec::new();
    pair(&mut twice, b"n", b"1");
    pair(&mut twice, b"n", b"2");
    let mut latin1 = Vec::new();
    pair(&mut latin1, b"v", b"caf\xe9");
    let cases: [(&str, &[u8], i64); 6] = [
        ("compartment= after n=1", &forged, error::IDENTITY_KEY),
        (
            "key caller",
            &[6, b'c', b'a', b'l', b'l', b'e', b'r', 0, 0],
            error::IDENTITY_KEY,
        ),
        ("key op-x", &bad_key, error::BAD_REPORT),
        ("key n twice", &twice, error::BAD_REPORT),
        (
            "a value length past the buffer",
            &[1, b'n', 9, 0, b'x'],
            error::BAD_REPORT,
        ),
        ("a value that is not UTF-8", &latin1, error::BAD_REPORT),
    ];
    for (what, buffer, code) in cases {
        checks.expect(what, app_report(buffer), code);
    }
}

/// REPORT with a word of its own: NO_SUCH_WORD, and a message that names the word.
fn own_word(checks: &mut Checks) {
    // A variable, not a literal: a literal word that is not a REPORT word does not
    // compile.
    let word = core::hint::black_box("KV");
    match tessera_sdk::report!(word, "puts=3 gets=2") {
        Err(e) if e.error == Error(error::NO_SUCH_WORD) && e.word() == "KV" => {
            // The test reads this line: the message names the word.
            println!("{NAME}: {e}");
        }
        other => checks.expect("REPORT KV", other.map_err(Error::from), Err(Error(0))),
    }
}

/// The store's export reports in its own name; REPORT from an export answers the same.
fn store(checks: &mut Checks) {
    checks.expect("app-store.put(7)", app_store::put(7), Ok(0));
    checks.expect(
        "app-store.own_word()",
        app_store::own_word(),
        Ok(error::NO_SUCH_WORD),
    );
}

/// `@@APP` lines until the console budget is spent; keeps running afterwards.
fn until_over_budget() -> i32 {
    for i in 0..1000u32 {
        match tessera_sdk::app!(i = i, pad = "0123456789abcdef") {
            Ok(()) => {}
            Err(Error(error::OVER_BUDGET)) => {
                // Refused from now on, and the compartment is still running.
                let again = tessera_sdk::app!(after = true);
                return if again == Err(Error(error::OVER_BUDGET)) {
                    0
                } else {
                    4
                };
            }
            Err(_) => return 2,
        }
    }
    3
}
