//! How a compartment ended, what its module line said to expect, and the transcript
//! value encoding (REPORT lines: [`crate::report`]). The boot passes when every
//! compartment ended as expected.

use alloc::string::String;
use core::fmt;

/// How a compartment's run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// EXIT hypercall with this code.
    Exited(i32),
    /// Stopped by the hypervisor: a contained fault of this kind (`@@FAULT kind=`).
    Faulted(&'static str),
    /// Its image was rejected before it could run, for this problem (`@@REJECT
    /// problem=`, e.g. `vmfunc-bytes`).
    Rejected(&'static str),
    /// Its `main`'s run broke at its base without a fault: it broke the gate protocol
    /// (e.g. sent a reply nobody waited for), and the hypervisor ended that run without
    /// stopping the compartment (`@@ABORT`).
    Aborted,
}

/// What the module command line says should happen (`expect=exit:0`, `expect=fault:KIND`,
/// `expect=fault`, `expect=reject`, `expect=reject:PROBLEM`); without `expect=`, a clean
/// exit with code 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    Exit(i32),
    Fault(Option<String>),
    Reject(Option<String>),
    Aborted,
}

impl Default for Expect {
    fn default() -> Self {
        Expect::Exit(0)
    }
}

/// An `expect=` value that means nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadExpect(pub String);

impl fmt::Display for BadExpect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "expect={} is not one of exit:N, fault, fault:KIND, reject, reject:PROBLEM, aborted",
            self.0
        )
    }
}

impl Expect {
    /// Parses the value of `expect=`.
    pub fn parse(value: &str) -> Result<Expect, BadExpect> {
        let bad = || BadExpect(value.into());
        match value.split_once(':') {
            None if value == "reject" => Ok(Expect::Reject(None)),
            None if value == "aborted" => Ok(Expect::Aborted),
            None if value == "fault" => Ok(Expect::Fault(None)),
            Some(("exit", code)) => code.parse().map(Expect::Exit).map_err(|_| bad()),
            Some(("fault", kind)) if !kind.is_empty() => Ok(Expect::Fault(Some(kind.into()))),
            Some(("reject", word)) if is_word(word) => Ok(Expect::Reject(Some(word.into()))),
            _ => Err(bad()),
        }
    }

    /// Whether `outcome` is what was expected.
    pub fn matches(&self, outcome: &Outcome) -> bool {
        match (self, outcome) {
            (Expect::Exit(want), Outcome::Exited(got)) => want == got,
            (Expect::Fault(None), Outcome::Faulted(_)) => true,
            (Expect::Fault(Some(want)), Outcome::Faulted(got)) => want == got,
            (Expect::Reject(None), Outcome::Rejected(_)) => true,
            (Expect::Reject(Some(want)), Outcome::Rejected(got)) => want == got,
            (Expect::Aborted, Outcome::Aborted) => true,
            _ => false,
        }
    }
}

/// A problem word: lowercase letters, digits and `-`, not empty.
fn is_word(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Exited(code) => write!(f, "exit:{code}"),
            Outcome::Faulted(kind) => write!(f, "fault:{kind}"),
            Outcome::Rejected(word) => write!(f, "reject:{word}"),
            Outcome::Aborted => f.write_str("aborted"),
        }
    }
}

/// Encodes free text as one transcript value: `%`, `=`, whitespace and non-printable
/// bytes become `%XX` (so a value never contains a space and decodes exactly).
pub fn encode_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_graphic() && byte != b'%' && byte != b'=' {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(byte >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(byte & 15)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expectations_parse_and_match() {
        assert_eq!(Expect::parse("exit:3"), Ok(Expect::Exit(3)));
        assert_eq!(Expect::parse("exit:-1"), Ok(Expect::Exit(-1)));
        assert_eq!(Expect::parse("reject"), Ok(Expect::Reject(None)));
        assert_eq!(
            Expect::parse("reject:vmfunc-bytes"),
            Ok(Expect::Reject(Some("vmfunc-bytes".into())))
        );
        assert_eq!(Expect::parse("fault"), Ok(Expect::Fault(None)));
        assert_eq!(
            Expect::parse("fault:memory"),
            Ok(Expect::Fault(Some("memory".into())))
        );
        for bad in [
            "",
            "exit",
            "exit:x",
            "fault:",
            "crash",
            "reject:",
            "reject:Out of",
        ] {
            assert!(Expect::parse(bad).is_err(), "{bad}");
        }
        assert!(Expect::default().matches(&Outcome::Exited(0)));
        assert!(!Expect::default().matches(&Outcome::Exited(1)));
        assert!(!Expect::default().matches(&Outcome::Faulted("memory")));
        assert!(Expect::Fault(None).matches(&Outcome::Faulted("watchdog")));
        assert!(!Expect::Fault(Some("memory".into())).matches(&Outcome::Faulted("watchdog")));
        assert!(!Expect::Reject(None).matches(&Outcome::Exited(0)));
        assert!(Expect::Reject(None).matches(&Outcome::Rejected("not-elf")));
        let vmfunc = Expect::Reject(Some("vmfunc-bytes".into()));
        assert!(vmfunc.matches(&Outcome::Rejected("vmfunc-bytes")));
        assert!(!vmfunc.matches(&Outcome::Rejected("out-of-memory")));
        assert_eq!(
            alloc::format!("{}", Outcome::Rejected("vmfunc-bytes")),
            "reject:vmfunc-bytes"
        );
    }

    #[test]
    fn values_encode_without_spaces_and_round_trip() {
        let text = "panicked at src/main.rs:3:5: 100% = bad\n";
        let enc = encode_value(text);
        assert_eq!(
            enc,
            "panicked%20at%20src/main.rs:3:5:%20100%25%20%3D%20bad%0A"
        );
        assert!(!enc.contains(' '));
        // Decode to prove it is lossless.
        let bytes = enc.as_bytes();
        let mut out = alloc::vec::Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let hex = core::str::from_utf8(&bytes[i + 1..i + 3]).expect("ascii");
                out.push(u8::from_str_radix(hex, 16).expect("hex"));
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        assert_eq!(out, text.as_bytes());
    }
}
