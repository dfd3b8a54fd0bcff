//! Machine-readable result lines: [`report!`](crate::report) over the REPORT hypercall.
//!
//! `print!` output is prefixed with `[NAME] ` and escaped by the hypervisor, so it can
//! never be an `@@` line. REPORT lets a compartment emit one of the words in
//! [`tessera_abi::hypercall::REPORT_WORDS`]: `report!("ROUNDTRIPS", "n={n} exits={e}")`
//! becomes `@@ROUNDTRIPS compartment=NAME n=... exits=...` in the transcript. The
//! hypervisor writes `compartment=NAME` itself: a report that names an identity key
//! ([`tessera_abi::transcript::IDENTITY_KEYS`]: `compartment`, `caller`, `callee`, `cpu`)
//! is refused with `IDENTITY_KEY`; one out of format with `BAD_REPORT`.

use core::fmt::{self, Write};

use tessera_abi::{error, hypercall as nr};

use crate::hypercall::{Error, raw};
use crate::text::TruncatingBuf;

/// Longest line REPORT takes.
const MAX: usize = nr::REPORT_MAX as usize;

/// Sends `WORD rest` with REPORT. A line longer than [`nr::REPORT_MAX`] bytes is not
/// sent (a cut result would be a wrong one): `TOO_LARGE`. The hypervisor refuses other
/// words, non-printable bytes and newlines, tokens that are not `key=value` (or, for
/// `BENCH`, anything but one JSON object), and identity keys.
pub fn report_fmt(word: &str, rest: fmt::Arguments<'_>) -> Result<(), Error> {
    let mut line = TruncatingBuf::<MAX>::new();
    if write!(line, "{word} {rest}").is_err() {
        return Err(Error(error::TOO_LARGE));
    }
    let bytes = line.as_bytes();
    // SAFETY: `bytes` borrows `line`, live and unmodified until the hypercall returns;
    // REPORT only reads it.
    let ret = unsafe { raw::report(bytes.as_ptr() as u64, bytes.len() as u64) };
    Error::check(ret).map(|_| ())
}

/// Emits a machine-readable transcript line: `report!(WORD, "key={} ...", ...)` →
/// `@@WORD compartment=NAME key=...`. Returns `Result<(), Error>`.
///
/// ```ignore
/// tessera_sdk::report!("ROUNDTRIPS", "n={n} exits={exits}")?;
/// ```
#[macro_export]
macro_rules! report {
    ($word:expr, $($arg:tt)*) => {
        $crate::report::report_fmt($word, ::core::format_args!($($arg)*))
    };
}
