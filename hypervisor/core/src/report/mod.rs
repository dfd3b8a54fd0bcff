//! The `@@` lines a compartment may ask for with the REPORT hypercall
//! ([`tessera_abi::hypercall::REPORT`]), and why one is refused.
//!
//! Who reported is L1's to say: the line gets `compartment=NAME` (for `BENCH`, the JSON
//! object's first member `"compartment":"NAME"`) from the view that made the hypercall,
//! and a report that itself names an identity key
//! ([`tessera_abi::transcript::IDENTITY_KEYS`]: `compartment`, `caller`, `callee`, `cpu`)
//! is refused, so no reader can take a compartment's claim for L1's word. The same holds
//! for a compartment's own lines, `@@APP` ([`app::app_line`], APP_REPORT).

pub mod app;
pub mod json;

use alloc::string::String;
use alloc::vec::Vec;
use tessera_abi::error;
use tessera_abi::hypercall::REPORT_WORDS;
use tessera_abi::transcript::IDENTITY_KEYS;

use crate::outcome::encode_value;

/// Why a REPORT line is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportError {
    /// Not in the format REPORT (or APP_REPORT) documents (the reason, for logs and
    /// tests).
    Malformed(&'static str),
    /// It names a key only L1 writes.
    IdentityKey,
    /// REPORT's word is not one of [`REPORT_WORDS`].
    NoSuchWord,
}

impl ReportError {
    /// The hypercall's result: [`error::BAD_REPORT`], [`error::IDENTITY_KEY`] or
    /// [`error::NO_SUCH_WORD`].
    pub fn code(self) -> i64 {
        match self {
            Self::Malformed(_) => error::BAD_REPORT,
            Self::IdentityKey => error::IDENTITY_KEY,
            Self::NoSuchWord => error::NO_SUCH_WORD,
        }
    }
}

/// Whether `key` is one L1 adds itself.
pub fn is_identity_key(key: &str) -> bool {
    IDENTITY_KEYS.contains(&key)
}

/// The `@@` line compartment `name` asks for with REPORT text `line`.
///
/// `line` is `WORD rest`: printable ASCII and spaces only, WORD one of
/// [`REPORT_WORDS`]. For `BENCH`, rest is one JSON object ([`json::check_object`]) and
/// the result is `@@BENCH {"compartment":"NAME",...}`; for every other word, rest is
/// space-separated `key=value` tokens (key from `A-Z a-z 0-9 _ . -`, each key once) and
/// the result is `@@WORD compartment=NAME key=value ...`.
///
/// # Errors
/// [`ReportError::NoSuchWord`] if WORD is not one of [`REPORT_WORDS`] (checked once the
/// text is printable); [`ReportError::IdentityKey`] if a key (or, for `BENCH`, a member
/// name at any depth) is an identity key; [`ReportError::Malformed`] for anything else
/// out of format.
pub fn report_line(name: &str, line: &[u8]) -> Result<String, ReportError> {
    let text = core::str::from_utf8(line).map_err(|_| ReportError::Malformed("not UTF-8"))?;
    if !text.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        return Err(ReportError::Malformed("only printable ASCII and spaces"));
    }
    let (word, rest) = text.split_once(' ').unwrap_or((text, ""));
    if !REPORT_WORDS.contains(&word) {
        return Err(ReportError::NoSuchWord);
    }
    let who = encode_value(name);
    if word == "BENCH" {
        let mut names = Vec::new();
        json::check_object(rest, is_identity_key, &mut names)?;
        let object = rest.trim();
        // Checked: the text is one object, so it starts with `{` and ends with `}`.
        let body = object[1..object.len() - 1].trim();
        let sep = if body.is_empty() { "" } else { "," };
        // `who` is printable ASCII; a name cannot hold `"` or `\`, but stay valid JSON
        // whatever it holds.
        let who = who.replace('\\', "%5C").replace('"', "%22");
        return Ok(alloc::format!(
            "@@BENCH {{\"compartment\":\"{who}\"{sep}{body}}}"
        ));
    }
    let mut out = alloc::format!("@@{word} compartment={who}");
    let mut keys: Vec<&str> = Vec::new();
    for token in rest.split(' ').filter(|t| !t.is_empty()) {
        let (key, _) = token
            .split_once('=')
            .ok_or(ReportError::Malformed("a token is not key=value"))?;
        let plain = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-');
        if key.is_empty() || !key.bytes().all(plain) {
            return Err(ReportError::Malformed("a key outside A-Z a-z 0-9 _ . -"));
        }
        if is_identity_key(key) {
            return Err(ReportError::IdentityKey);
        }
        if keys.contains(&key) {
            return Err(ReportError::Malformed("a key is repeated"));
        }
        keys.push(key);
        out.push(' ');
        out.push_str(token);
    }
    Ok(out)
}

/// `line` (made by [`report_line`] or [`app::app_line`]) with the vCPU it was reported
/// on: `cpu=K` right after its `compartment=` field, or `"cpu":K` right after a `@@BENCH`
/// object's `"compartment"` member. L1 adds it on an SMP boot (docs/gates.md "SMP"); the
/// compartment cannot (`cpu` is an identity key), and a name holds no space or `"`.
pub fn with_cpu(line: &str, cpu: usize) -> String {
    let (head, sep, insert) = if line.starts_with("@@BENCH ") {
        ("\"compartment\":\"", '"', alloc::format!(",\"cpu\":{cpu}"))
    } else {
        (" compartment=", ' ', alloc::format!(" cpu={cpu}"))
    };
    let Some(start) = line.find(head).map(|at| at + head.len()) else {
        return line.into();
    };
    // Before the space after the name, or after the closing quote of the JSON string.
    let at = match (line[start..].find(sep), sep) {
        (Some(n), ' ') => start + n,
        (Some(n), _) => start + n + 1,
        (None, _) => line.len(),
    };
    alloc::format!("{}{insert}{}", &line[..at], &line[at..])
}

#[cfg(test)]
mod tests;
