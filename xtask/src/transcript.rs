//! The machine-readable COM1 transcript: `@@WORD token token ...` lines (every word and
//! key: docs/transcript.md).
//!
//! Tokens are `key=value` pairs (values without spaces) or bare words (`@@RESULT pass`).
//! `@@BENCH` carries JSON instead of tokens: its text is kept whole in [`Record::rest`].
//! The identity keys (`compartment`, `caller`, `callee`, `cpu`:
//! `tessera_abi::transcript::IDENTITY_KEYS`) are the hypervisor's alone: on a line a
//! compartment reported (`@@APP`, `@@ROUNDTRIPS`, `@@CALL`, `@@BENCH`), `compartment` is
//! who reported it, and the hypervisor refuses any report that names one itself. Text
//! values (`@@APP` values, messages) are `%XX`-encoded: [`Record::text`] decodes them.
//! Free-form log lines never start with `@@` and are kept only as lines.

use std::collections::BTreeMap;
use tessera_abi::transcript::{CAP, PREFIX, RESULT};

/// One `@@` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The word after `@@`, e.g. `CAP`, `RESULT`.
    pub word: String,
    /// Whitespace-separated tokens after the word.
    pub tokens: Vec<String>,
    /// Everything after the word, trimmed (for `@@BENCH {json}`).
    pub rest: String,
}

impl Record {
    /// Parses one line; `None` if it is not a machine-readable line.
    pub fn parse(line: &str) -> Option<Record> {
        let body = line.trim_end_matches(['\r', '\n']).strip_prefix(PREFIX)?;
        let (word, rest) = match body.split_once(char::is_whitespace) {
            Some((word, rest)) => (word, rest.trim()),
            None => (body, ""),
        };
        if word.is_empty() {
            return None;
        }
        Some(Record {
            word: word.to_owned(),
            tokens: rest.split_whitespace().map(str::to_owned).collect(),
            rest: rest.to_owned(),
        })
    }

    /// The value of the first `key=value` token with this key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The text the value of `key` stands for, decoded ([`decode_value`]): what a
    /// compartment sent as an `@@APP` value, a panic message, a `@@REJECT` message.
    pub fn text(&self, key: &str) -> Option<String> {
        self.get(key).and_then(decode_value)
    }

    /// Whether this is the `@@RESULT` line.
    pub fn is_result(&self) -> bool {
        self.word == result_word()
    }

    /// All `key=value` tokens, in order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.tokens.iter().filter_map(|t| t.split_once('='))
    }

    /// Tokens that are not `key=value` (e.g. `pass` in `@@RESULT pass`).
    pub fn words(&self) -> impl Iterator<Item = &str> {
        self.tokens
            .iter()
            .map(String::as_str)
            .filter(|t| !t.contains('='))
    }
}

/// What a boot concluded, read from its transcript (never from an exit status).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The last `@@` line is `@@RESULT pass`.
    Pass,
    /// `@@RESULT fail ...`, a malformed `@@RESULT`, or `@@` lines after it.
    Fail { reason: String },
    /// No `@@RESULT` line at all: the boot crashed, hung or was cut short.
    Missing,
}

/// A whole transcript: every line, and the `@@` records among them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transcript {
    /// Every line, without line terminators.
    pub lines: Vec<String>,
    /// The machine-readable lines, in order.
    pub records: Vec<Record>,
}

impl Transcript {
    /// Parses a whole transcript.
    pub fn parse(text: &str) -> Transcript {
        let mut transcript = Transcript::default();
        for line in text.lines() {
            transcript.push_line(line);
        }
        transcript
    }

    /// Adds one line (as it arrives from COM1).
    pub fn push_line(&mut self, line: &str) {
        let line = line.trim_end_matches(['\r', '\n']);
        if let Some(record) = Record::parse(line) {
            self.records.push(record);
        }
        self.lines.push(line.to_owned());
    }

    /// Records with this word (`"CAP"`, `"RESULT"`, ...), in order.
    pub fn records<'a>(&'a self, word: &'a str) -> impl Iterator<Item = &'a Record> + 'a {
        self.records.iter().filter(move |r| r.word == word)
    }

    /// Every `@@CAP name=value`, later lines overriding earlier ones.
    pub fn caps(&self) -> BTreeMap<String, String> {
        self.records(cap_word())
            .flat_map(|r| r.pairs())
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    /// One capability's value.
    pub fn cap(&self, name: &str) -> Option<String> {
        self.caps().remove(name)
    }

    /// The verdict: `@@RESULT` must be the last `@@` line.
    pub fn verdict(&self) -> Verdict {
        let result = result_word();
        let Some(pos) = self.records.iter().rposition(Record::is_result) else {
            return Verdict::Missing;
        };
        if let Some(after) = self.records.get(pos + 1) {
            return Verdict::Fail {
                reason: format!(
                    "@@{result} is not the last @@ line (followed by @@{})",
                    after.word
                ),
            };
        }
        let record = &self.records[pos];
        match record.words().next() {
            Some("pass") => Verdict::Pass,
            Some("fail") => Verdict::Fail {
                reason: record
                    .get("reason")
                    .unwrap_or("(no reason given)")
                    .to_owned(),
            },
            _ => Verdict::Fail {
                reason: format!("malformed result line: @@{result} {}", record.rest),
            },
        }
    }
}

/// The exact text an `@@` text value stands for: every `%XX` (two hex digits) is the
/// byte XX (docs/transcript.md, "text": L1 writes `%`, `=`, whitespace and every byte
/// that is not printable ASCII so). `None` for a `%` without two hex digits after it, or
/// bytes that are not UTF-8.
pub fn decode_value(value: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(value.len());
    let mut rest = value.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%' {
            let hex = std::str::from_utf8(tail.get(..2)?).ok()?;
            if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                return None;
            }
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(b);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

fn cap_word() -> &'static str {
    CAP.strip_prefix(PREFIX).unwrap_or(CAP)
}

fn result_word() -> &'static str {
    RESULT.strip_prefix(PREFIX).unwrap_or(RESULT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_words_pairs_and_rest() {
        let r = Record::parse("@@CAP vmx=1 ept=1\r").unwrap();
        assert_eq!(r.word, "CAP");
        assert_eq!(r.get("vmx"), Some("1"));
        assert_eq!(r.get("ept"), Some("1"));
        assert_eq!(r.get("svm"), None);
        let r = Record::parse("@@RESULT fail reason=vmentry").unwrap();
        assert_eq!(r.words().collect::<Vec<_>>(), ["fail"]);
        assert_eq!(r.get("reason"), Some("vmentry"));
        let r = Record::parse(r#"@@BENCH {"name": "vmfunc", "min": 3}"#).unwrap();
        assert_eq!(r.rest, r#"{"name": "vmfunc", "min": 3}"#);
        let r = Record::parse("@@RESULT").unwrap();
        assert!(r.tokens.is_empty());
    }

    #[test]
    fn text_values_decode_to_the_exact_text() {
        let r = Record::parse(
            "@@APP compartment=kv note=a%20b%3Dc%25d%0A@@RESULT%20pass text=caf%C3%A9 empty=",
        )
        .unwrap();
        assert_eq!(r.text("note").as_deref(), Some("a b=c%d\n@@RESULT pass"));
        assert_eq!(r.text("text").as_deref(), Some("caf\u{e9}"));
        assert_eq!(r.text("empty").as_deref(), Some(""));
        assert_eq!(r.text("compartment").as_deref(), Some("kv"));
        assert_eq!(r.text("missing"), None);
        for bad in ["%", "%4", "%zz", "%C3", "%+1"] {
            assert_eq!(decode_value(bad), None, "{bad}");
        }
        let text = "panicked at src/main.rs:3:5: 100% = bad\n\u{e9}";
        let encoded = tessera_core::outcome::encode_value(text);
        assert_eq!(decode_value(&encoded).as_deref(), Some(text));
    }

    #[test]
    fn ignores_free_form_lines() {
        assert_eq!(Record::parse("booting @@CAP x=1"), None);
        assert_eq!(Record::parse("@ @CAP x=1"), None);
        assert_eq!(Record::parse("@@ x=1"), None);
        assert_eq!(Record::parse(""), None);
    }

    #[test]
    fn caps_and_pass_verdict() {
        let t = Transcript::parse(
            "tessera booting\n@@CAP vmx=1\n@@CAP vmfunc.eptp_switching=1\n\
             @@RAW msr 0x480=0xda040000000012\nlog line\n@@RESULT pass\n",
        );
        assert_eq!(t.lines.len(), 6);
        assert_eq!(t.cap("vmx").as_deref(), Some("1"));
        assert_eq!(t.cap("vmfunc.eptp_switching").as_deref(), Some("1"));
        assert_eq!(t.records("RAW").count(), 1);
        assert_eq!(t.verdict(), Verdict::Pass);
    }

    #[test]
    fn fail_missing_and_misplaced_results() {
        let fail = Transcript::parse("@@RESULT fail reason=no-vmx\n");
        assert_eq!(
            fail.verdict(),
            Verdict::Fail {
                reason: "no-vmx".into()
            }
        );
        let missing = Transcript::parse("@@CAP vmx=1\nPANIC\n");
        assert_eq!(missing.verdict(), Verdict::Missing);
        let misplaced = Transcript::parse("@@RESULT pass\n@@CAP vmx=1\n");
        assert!(
            matches!(misplaced.verdict(), Verdict::Fail { reason } if reason.contains("@@CAP"))
        );
        let malformed = Transcript::parse("@@RESULT pas");
        assert!(
            matches!(malformed.verdict(), Verdict::Fail { reason } if reason.contains("malformed"))
        );
        // Free-form lines after the result do not matter.
        let trailing = Transcript::parse("@@RESULT pass\nbye\n");
        assert_eq!(trailing.verdict(), Verdict::Pass);
    }
}
