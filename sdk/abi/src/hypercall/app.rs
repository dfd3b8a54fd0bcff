//! The buffer of [`APP_REPORT`](super::APP_REPORT): a compartment's own machine-readable
//! line, `@@APP compartment=NAME key=value ...` in the transcript.
//!
//! The buffer is a sequence of pairs, at most [`REPORT_MAX`](super::REPORT_MAX) bytes in
//! all, each
//!
//! | bytes | what |
//! |---|---|
//! | 1 | the key's length `k`, 1 to [`KEY_MAX`] |
//! | `k` | the key: `a-z`, `0-9`, `_`, `.` ([`check_key`]), not an identity key |
//! | 2 | the value's length `v`, little-endian |
//! | `v` | the value: any UTF-8 text (spaces, `=`, newlines, …) |
//!
//! Values travel as they are: L1 escapes them, exactly as every other `@@` text value
//! (each byte that is `%`, `=`, whitespace or not printable ASCII becomes `%XX`), so
//! nothing a compartment sends can end a line or start another. Keys are checked, not
//! escaped: [`check_key`] is the rule L1 applies and the SDK's `app!` checks at compile
//! time. [`Writer`] builds a buffer (the SDK's), [`Pairs`] splits one (L1's).

use core::fmt;

use crate::error;
use crate::transcript::IDENTITY_KEYS;

/// Longest key of a pair (bytes).
pub const KEY_MAX: usize = 64;

/// Why a key is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyError {
    /// No bytes.
    Empty,
    /// Longer than [`KEY_MAX`] bytes.
    TooLong,
    /// A byte outside `a-z 0-9 _ .`.
    Character,
    /// One of [`IDENTITY_KEYS`]: only L1 writes those
    /// ([`IDENTITY_KEY`](crate::error::IDENTITY_KEY)).
    Identity,
}

impl KeyError {
    /// The hypercall's result for a pair with this key:
    /// [`IDENTITY_KEY`](crate::error::IDENTITY_KEY) for an identity key,
    /// [`BAD_REPORT`](crate::error::BAD_REPORT) otherwise.
    pub const fn code(self) -> i64 {
        match self {
            Self::Identity => crate::error::IDENTITY_KEY,
            _ => crate::error::BAD_REPORT,
        }
    }
}

/// Whether `key` may name a value of an `@@APP` line: 1 to [`KEY_MAX`] bytes of
/// `a-z 0-9 _ .`, and not one of [`IDENTITY_KEYS`]. A `const fn`, so keys written in the
/// source are checked when the compartment is compiled.
pub const fn check_key(key: &[u8]) -> Result<(), KeyError> {
    if key.is_empty() {
        return Err(KeyError::Empty);
    }
    if key.len() > KEY_MAX {
        return Err(KeyError::TooLong);
    }
    let mut i = 0;
    while i < key.len() {
        if !matches!(key[i], b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.') {
            return Err(KeyError::Character);
        }
        i += 1;
    }
    let mut j = 0;
    while j < IDENTITY_KEYS.len() {
        if bytes_eq(key, IDENTITY_KEYS[j].as_bytes()) {
            return Err(KeyError::Identity);
        }
        j += 1;
    }
    Ok(())
}

const fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// One pair of a buffer: the key's and the value's bytes, as sent (not yet checked).
pub type Pair<'a> = (&'a [u8], &'a [u8]);

/// The pairs of a buffer, in order, split by their lengths only: `Err(())` where a length
/// runs past the end of the buffer (and nothing after it). What the bytes may be is
/// [`check_key`]'s and L1's to decide.
#[derive(Clone, Debug)]
pub struct Pairs<'a> {
    rest: &'a [u8],
}

impl<'a> Pairs<'a> {
    /// The pairs of `buffer`.
    pub const fn new(buffer: &'a [u8]) -> Self {
        Self { rest: buffer }
    }

    fn next_pair(&mut self) -> Option<Pair<'a>> {
        let (&key_len, rest) = self.rest.split_first()?;
        let (key, rest) = rest.split_at_checked(usize::from(key_len))?;
        let (len, rest) = rest.split_at_checked(2)?;
        let value_len = usize::from(u16::from_le_bytes([len[0], len[1]]));
        let (value, rest) = rest.split_at_checked(value_len)?;
        self.rest = rest;
        Some((key, value))
    }
}

impl<'a> Iterator for Pairs<'a> {
    type Item = Result<Pair<'a>, ()>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let pair = self.next_pair().ok_or(());
        if pair.is_err() {
            self.rest = &[];
        }
        Some(pair)
    }
}

/// Builds a buffer of at most `N` bytes, one pair at a time (`N` =
/// [`REPORT_MAX`](super::REPORT_MAX) is what L1 takes).
#[derive(Clone, Debug)]
pub struct Writer<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> Writer<N> {
    /// An empty buffer.
    pub const fn new() -> Self {
        Self {
            buf: [0; N],
            len: 0,
        }
    }

    /// Appends `key` and `value` as [`Display`](fmt::Display) writes it. On an error
    /// nothing of the pair is kept: the code L1 would give for the key
    /// ([`KeyError::code`]), or [`TOO_LARGE`](error::TOO_LARGE) when the pair does not
    /// fit (a cut value would be a wrong one).
    pub fn push(&mut self, key: &str, value: &dyn fmt::Display) -> Result<(), i64> {
        check_key(key.as_bytes()).map_err(KeyError::code)?;
        let start = self.len;
        let pushed = self.put_pair(key, value);
        if pushed.is_err() {
            self.len = start;
        }
        pushed
    }

    fn put_pair(&mut self, key: &str, value: &dyn fmt::Display) -> Result<(), i64> {
        // `check_key` bounds the key's length to KEY_MAX, which fits a byte.
        self.put(&[key.len() as u8])?;
        self.put(key.as_bytes())?;
        let at = self.len;
        self.put(&[0, 0])?;
        fmt::write(&mut Value(self), format_args!("{value}")).map_err(|_| error::TOO_LARGE)?;
        let len = u16::try_from(self.len - at - 2).map_err(|_| error::TOO_LARGE)?;
        self.buf[at..at + 2].copy_from_slice(&len.to_le_bytes());
        Ok(())
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), i64> {
        let end = self.len + bytes.len();
        let slot = self.buf.get_mut(self.len..end).ok_or(error::TOO_LARGE)?;
        slot.copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }

    /// The buffer so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl<const N: usize> Default for Writer<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// Where formatting writes a value's bytes (private: only [`Writer::push`] frames them).
struct Value<'w, const N: usize>(&'w mut Writer<N>);

impl<const N: usize> fmt::Write for Value<'_, N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.put(s.as_bytes()).map_err(|_| fmt::Error)
    }
}
