//! `@@APP`: a compartment's own machine-readable line (APP_REPORT,
//! [`tessera_abi::hypercall::app`]).
//!
//! The compartment sends `key`/`value` pairs; L1 checks every key
//! ([`tessera_abi::hypercall::app::check_key`]: `a-z 0-9 _ .`, not an identity key, each
//! once), writes `compartment=NAME` first from the view that made the call, and escapes
//! every value with [`encode_value`], as every `@@` text value is. So the line's keys are
//! the compartment's claims, and nothing in a value can end the line or start another.

use alloc::string::String;
use alloc::vec::Vec;
use tessera_abi::hypercall::app::{KeyError, Pairs, check_key};

use super::ReportError;
use crate::outcome::encode_value;

/// The `@@APP` line compartment `name` asks for with the APP_REPORT buffer `buffer`:
/// `@@APP compartment=NAME key=value ...`, the pairs in the order sent, each value
/// encoded. A buffer without pairs is the line with `compartment=NAME` alone.
///
/// # Errors
/// The first problem, pair by pair: [`ReportError::IdentityKey`] for a key that is an
/// identity key; [`ReportError::Malformed`] for a length that runs past the buffer, a
/// key outside `a-z 0-9 _ .` (or empty, or longer than `KEY_MAX`), a key already sent,
/// or a value that is not UTF-8.
pub fn app_line(name: &str, buffer: &[u8]) -> Result<String, ReportError> {
    let mut out = alloc::format!("@@APP compartment={}", encode_value(name));
    let mut keys: Vec<&[u8]> = Vec::new();
    for pair in Pairs::new(buffer) {
        let (key, value) =
            pair.map_err(|()| ReportError::Malformed("a length runs past the buffer"))?;
        check_key(key).map_err(|e| match e {
            KeyError::Identity => ReportError::IdentityKey,
            KeyError::Empty | KeyError::TooLong | KeyError::Character => {
                ReportError::Malformed("a key is not 1 to KEY_MAX bytes of a-z 0-9 _ .")
            }
        })?;
        if keys.contains(&key) {
            return Err(ReportError::Malformed("a key is repeated"));
        }
        keys.push(key);
        let value = core::str::from_utf8(value)
            .map_err(|_| ReportError::Malformed("a value is not UTF-8"))?;
        out.push(' ');
        // Checked above: the key is ASCII.
        out.extend(key.iter().map(|&b| char::from(b)));
        out.push('=');
        out.push_str(&encode_value(value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::fmt::Display;
    use tessera_abi::error;
    use tessera_abi::hypercall::REPORT_MAX;
    use tessera_abi::hypercall::app::{KEY_MAX, Writer};

    /// A buffer as the SDK builds it.
    fn pairs(pairs: &[(&str, &dyn Display)]) -> Vec<u8> {
        let mut w = Writer::<{ REPORT_MAX as usize }>::new();
        for (key, value) in pairs {
            w.push(key, value).expect("pushed");
        }
        w.as_bytes().to_vec()
    }

    /// A buffer built by hand: key length, key, value length (LE), value.
    fn raw(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut buf = Vec::new();
        for (key, value) in pairs {
            buf.push(key.len() as u8);
            buf.extend_from_slice(key);
            buf.extend_from_slice(&(value.len() as u16).to_le_bytes());
            buf.extend_from_slice(value);
        }
        buf
    }

    #[test]
    fn l1_writes_the_name_first_and_escapes_every_value() {
        let buf = pairs(&[
            ("op", &"put"),
            ("rx.bytes", &4096),
            ("key_2", &"a b=c%d\n@@RESULT pass"),
            ("note", &"caf\u{e9} \u{202e}"),
            ("empty", &""),
        ]);
        assert_eq!(
            app_line("kv-store", &buf).as_deref(),
            Ok("@@APP compartment=kv-store op=put rx.bytes=4096 \
                key_2=a%20b%3Dc%25d%0A@@RESULT%20pass note=caf%C3%A9%20%E2%80%AE empty=")
        );
        assert_eq!(
            app_line("a", &[]).as_deref(),
            Ok("@@APP compartment=a"),
            "no pairs"
        );
        // Values are encoded exactly as every other `@@` text value.
        let value = "x =%\t\u{85}";
        let line = app_line("a", &raw(&[(b"v", value.as_bytes())])).expect("line");
        assert_eq!(
            line,
            alloc::format!("@@APP compartment=a v={}", encode_value(value))
        );
    }

    #[test]
    fn identity_keys_are_refused() {
        for key in ["compartment", "caller", "callee", "cpu"] {
            let buf = raw(&[(b"n", b"1"), (key.as_bytes(), b"victim")]);
            assert_eq!(app_line("a", &buf), Err(ReportError::IdentityKey), "{key}");
            assert_eq!(ReportError::IdentityKey.code(), error::IDENTITY_KEY);
        }
        // Only the keys themselves: values and longer keys are the compartment's.
        let buf = raw(&[(b"compartments", b"2"), (b"target", b"compartment")]);
        assert!(app_line("a", &buf).is_ok());
    }

    #[test]
    fn keys_are_lower_case_digits_underscore_and_dot_each_once() {
        let long = [b'k'; KEY_MAX + 1];
        for key in [
            &b""[..],
            b"Op",
            b"op-name",
            b"op name",
            b"op=x",
            b"\xc3\xa9",
            b"n\n@@RESULT",
            &long,
        ] {
            let refused = app_line("a", &raw(&[(key, b"1")]));
            assert!(
                matches!(refused, Err(ReportError::Malformed(_))),
                "{key:?}: {refused:?}"
            );
            assert_eq!(refused.unwrap_err().code(), error::BAD_REPORT);
        }
        assert!(app_line("a", &raw(&[(&[b'k'; KEY_MAX], b"1")])).is_ok());
        assert!(app_line("a", &raw(&[(b"0.9_z", b"1")])).is_ok());
        let twice = raw(&[(b"n", b"1"), (b"m", b"2"), (b"n", b"3")]);
        assert!(matches!(
            app_line("a", &twice),
            Err(ReportError::Malformed(_))
        ));
    }

    #[test]
    fn lengths_past_the_buffer_and_invalid_utf8_are_malformed() {
        let good = raw(&[(b"n", b"12345")]);
        for cut in 1..good.len() {
            let refused = app_line("a", &good[..cut]);
            assert!(
                matches!(refused, Err(ReportError::Malformed(_))),
                "cut at {cut}"
            );
        }
        let mut trailing = good.clone();
        trailing.push(3);
        assert!(matches!(
            app_line("a", &trailing),
            Err(ReportError::Malformed(_))
        ));
        let latin1 = raw(&[(b"v", b"caf\xe9")]);
        assert!(matches!(
            app_line("a", &latin1),
            Err(ReportError::Malformed(_))
        ));
    }

    #[test]
    fn the_writer_refuses_what_l1_would_and_what_does_not_fit() {
        let mut w = Writer::<16>::new();
        assert_eq!(w.push("cpu", &1), Err(error::IDENTITY_KEY));
        assert_eq!(w.push("Op", &1), Err(error::BAD_REPORT));
        assert_eq!(w.push("n", &"0123456789"), Ok(()));
        // 14 bytes used: the next pair does not fit and leaves nothing behind.
        assert_eq!(w.push("m", &"x"), Err(error::TOO_LARGE));
        assert_eq!(w.as_bytes().len(), 14);
        assert_eq!(
            app_line("a", w.as_bytes()).as_deref(),
            Ok("@@APP compartment=a n=0123456789")
        );
    }
}
