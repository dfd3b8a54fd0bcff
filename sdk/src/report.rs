//! Machine-readable transcript lines: a compartment's own with [`app!`](crate::app) (the
//! APP_REPORT hypercall), and the hypervisor's benchmark and round-trip words with
//! [`report!`](macro@crate::report) (REPORT).
//!
//! `print!` output is prefixed with `[NAME] ` and escaped by the hypervisor, so it can
//! never be an `@@` line. A compartment's results go on `@@APP` lines instead:
//!
//! ```ignore
//! tessera_sdk::app!(op = "put", key = key, "rx.bytes" = n)?;
//! ```
//!
//! prints `@@APP compartment=NAME op=put key=... rx.bytes=...`. The hypervisor writes
//! `compartment=NAME` itself, from the view that made the call; keys are `a-z 0-9 _ .`
//! (checked when the compartment is compiled), and values are any text, escaped by the
//! hypervisor as every `@@` value is (`a b` → `a%20b`, docs/transcript.md). A reader
//! decodes them back to the exact text. [`AppLine`] builds one with keys chosen at run
//! time.
//!
//! [`report!`](macro@crate::report) is for the words of [`tessera_abi::hypercall::REPORT_WORDS`]
//! (`ROUNDTRIPS`, `BENCH`, `CALL`), which tools read: `report!("ROUNDTRIPS", "n={n}
//! exits={e}")` becomes `@@ROUNDTRIPS compartment=NAME n=... exits=...`. A literal word
//! that is not one of them does not compile; any other is refused with `NO_SUCH_WORD`,
//! and the error names the word.
//!
//! Identity keys ([`tessera_abi::transcript::IDENTITY_KEYS`]: `compartment`, `caller`,
//! `callee`, `cpu`) are the hypervisor's alone: a line that names one is refused with
//! `IDENTITY_KEY` (and `app!` with one does not compile).

use core::fmt::{self, Write};

use tessera_abi::hypercall::app::{self, KeyError, Writer};
use tessera_abi::{error, hypercall as nr};

use crate::hypercall::{Error, raw};
use crate::text::{TruncatingBuf, floor_char_boundary};

/// Longest line REPORT takes, and longest APP_REPORT buffer.
const MAX: usize = nr::REPORT_MAX as usize;

/// A REPORT that failed, and the word it was for.
///
/// Its [`Display`](fmt::Display) names the word: `no report word "KV": REPORT takes
/// ROUNDTRIPS, BENCH, CALL; a compartment's own lines are tessera_sdk::app! (-11)`.
/// Converts into [`Error`] (the code alone), so `?` works in functions returning
/// `Result<_, Error>`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ReportError {
    /// What the hypervisor (or the SDK, for a line too long to send) answered.
    pub error: Error,
    word: [u8; WORD_KEPT],
    word_len: u8,
}

/// Bytes of the word a [`ReportError`] keeps (a longer one is cut, on a character
/// boundary).
const WORD_KEPT: usize = 32;

impl ReportError {
    fn new(word: &str, error: Error) -> Self {
        let kept = floor_char_boundary(word, WORD_KEPT);
        let mut buf = [0; WORD_KEPT];
        buf[..kept].copy_from_slice(&word.as_bytes()[..kept]);
        Self {
            error,
            word: buf,
            // At most WORD_KEPT.
            word_len: kept as u8,
        }
    }

    /// The word the report was for (its first 32 bytes).
    pub fn word(&self) -> &str {
        let bytes = &self.word[..usize::from(self.word_len)];
        // Cut on a character boundary of a `&str`, so still UTF-8.
        core::str::from_utf8(bytes).unwrap_or_default()
    }
}

impl From<ReportError> for Error {
    fn from(e: ReportError) -> Self {
        e.error
    }
}

impl fmt::Debug for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReportError")
            .field("word", &self.word())
            .field("error", &self.error)
            .finish()
    }
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = self.word();
        if self.error != Error(error::NO_SUCH_WORD) {
            return write!(f, "REPORT {word:?}: {}", self.error);
        }
        write!(f, "no report word {word:?}: REPORT takes ")?;
        for (i, known) in nr::REPORT_WORDS.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{known}")?;
        }
        write!(
            f,
            "; a compartment's own lines are tessera_sdk::app! ({})",
            error::NO_SUCH_WORD
        )
    }
}

/// Sends `WORD rest` with REPORT. A line longer than [`nr::REPORT_MAX`] bytes is not
/// sent (a cut result would be a wrong one): `TOO_LARGE`. The hypervisor refuses a word
/// not in [`nr::REPORT_WORDS`] (`NO_SUCH_WORD`), non-printable bytes and newlines, tokens
/// that are not `key=value` (or, for `BENCH`, anything but one JSON object), and
/// identity keys.
pub fn report_fmt(word: &str, rest: fmt::Arguments<'_>) -> Result<(), ReportError> {
    let mut line = TruncatingBuf::<MAX>::new();
    if write!(line, "{word} {rest}").is_err() {
        return Err(ReportError::new(word, Error(error::TOO_LARGE)));
    }
    let bytes = line.as_bytes();
    // SAFETY: `bytes` borrows `line`, live and unmodified until the hypercall returns;
    // REPORT only reads it.
    let ret = unsafe { raw::report(bytes.as_ptr() as u64, bytes.len() as u64) };
    Error::check(ret)
        .map(|_| ())
        .map_err(|e| ReportError::new(word, e))
}

/// `word` if it is one of [`nr::REPORT_WORDS`]; otherwise compilation stops (in a
/// constant). What [`report!`](macro@crate::report) checks a literal word with.
#[doc(hidden)]
pub const fn known_word(word: &'static str) -> &'static str {
    assert!(
        nr::is_report_word(word),
        "not a REPORT word (tessera_abi::hypercall::REPORT_WORDS: ROUNDTRIPS, BENCH, CALL); \
         a compartment's own lines are tessera_sdk::app!(key = value, ...)"
    );
    word
}

/// Emits one of the hypervisor's reported lines: `report!(WORD, "key={} ...", ...)` →
/// `@@WORD compartment=NAME key=...`, WORD one of [`nr::REPORT_WORDS`] (a literal word
/// that is not one does not compile). Returns `Result<(), ReportError>`.
///
/// For a compartment's own results use [`app!`](crate::app).
///
/// ```ignore
/// tessera_sdk::report!("ROUNDTRIPS", "n={n} exits={exits}")?;
/// ```
#[macro_export]
macro_rules! report {
    ($word:literal, $($arg:tt)*) => {
        $crate::report::report_fmt(
            const { $crate::report::known_word($word) },
            ::core::format_args!($($arg)*),
        )
    };
    ($word:expr, $($arg:tt)*) => {
        $crate::report::report_fmt($word, ::core::format_args!($($arg)*))
    };
}

/// One `@@APP` line, built a pair at a time (for keys chosen at run time; [`app!`]
/// when they are written in the source).
///
/// ```ignore
/// let mut line = tessera_sdk::report::AppLine::new();
/// line.pair("op", "put").pair(field, value);
/// line.emit()?;
/// ```
///
/// The first problem is kept and returned by [`emit`](Self::emit), which then sends
/// nothing: a key outside `a-z 0-9 _ .` (`BAD_REPORT`) or an identity key
/// (`IDENTITY_KEY`), checked here as the hypervisor does, or pairs over
/// [`nr::REPORT_MAX`] bytes (`TOO_LARGE`; a value is never cut).
///
/// [`app!`]: crate::app
pub struct AppLine {
    pairs: Writer<MAX>,
    error: Option<Error>,
}

impl AppLine {
    /// A line without pairs (emitted as is, it is `@@APP compartment=NAME`).
    pub const fn new() -> Self {
        Self {
            pairs: Writer::new(),
            error: None,
        }
    }

    /// Adds `key=value`, `value` as [`Display`](fmt::Display) writes it.
    pub fn pair(&mut self, key: &str, value: impl fmt::Display) -> &mut Self {
        if self.error.is_none() {
            if let Err(code) = self.pairs.push(key, &value) {
                self.error = Some(Error(code));
            }
        }
        self
    }

    /// Sends the line (APP_REPORT): the first error [`pair`](Self::pair) met, or the
    /// hypervisor's answer (`OVER_BUDGET` once the console budget is spent,
    /// `NOT_PERMITTED` if the manifest leaves `app_report` out).
    pub fn emit(&self) -> Result<(), Error> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let bytes = self.pairs.as_bytes();
        // SAFETY: `bytes` borrows `self.pairs`, live and unmodified until the hypercall
        // returns; APP_REPORT only reads it.
        let ret = unsafe { raw::app_report(bytes.as_ptr() as u64, bytes.len() as u64) };
        Error::check(ret).map(|_| ())
    }
}

impl Default for AppLine {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for AppLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppLine")
            .field("bytes", &self.pairs.as_bytes().len())
            .field("error", &self.error)
            .finish()
    }
}

/// `key` if it may name an `@@APP` value ([`app::check_key`]); otherwise compilation
/// stops (in a constant). What [`app!`](crate::app) checks its keys with.
#[doc(hidden)]
pub const fn checked_key(key: &'static str) -> &'static str {
    match app::check_key(key.as_bytes()) {
        Ok(()) => key,
        Err(KeyError::Identity) => panic!(
            "compartment, caller, callee and cpu are the hypervisor's keys: it writes \
             compartment= itself"
        ),
        Err(_) => panic!("an app! key is 1 to 64 bytes of a-z 0-9 _ ."),
    }
}

/// Emits the compartment's own machine-readable line: `app!(key = value, ...)` →
/// `@@APP compartment=NAME key=value ...` (APP_REPORT). Returns `Result<(), Error>`.
///
/// A key is an identifier (`op`) or a string literal (`"rx.bytes"`), `a-z 0-9 _ .`,
/// checked at compile time, each once; `compartment`, `caller`, `callee` and `cpu` are
/// the hypervisor's and do not compile. A value is anything that implements
/// [`Display`](core::fmt::Display), sent as its text; the hypervisor escapes it
/// (docs/transcript.md). The line counts against the compartment's console budget.
///
/// ```ignore
/// tessera_sdk::app!(op = "put", key = key, "rx.bytes" = n, ok = true)?;
/// // @@APP compartment=kv-store op=put key=apple rx.bytes=512 ok=true
/// ```
#[macro_export]
macro_rules! app {
    ($($key:tt = $value:expr),* $(,)?) => {{
        let mut line = $crate::report::AppLine::new();
        $(line.pair($crate::__app_key!($key), &$value);)*
        line.emit()
    }};
}

/// A key of [`app!`]: an identifier's name or a string literal, checked at compile time.
#[doc(hidden)]
#[macro_export]
macro_rules! __app_key {
    ($key:ident) => {
        const { $crate::report::checked_key(::core::stringify!($key)) }
    };
    ($key:literal) => {
        const { $crate::report::checked_key($key) }
    };
}
