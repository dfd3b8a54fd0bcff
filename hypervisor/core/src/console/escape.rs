//! The escaping of compartment text: what a compartment writes becomes text that a
//! terminal shows literally and that no line splitter, Unicode-aware or not, can break.
//!
//! Escaped (everything else passes through as UTF-8):
//! - every byte that is not part of valid UTF-8: `\xHH`;
//! - every C0 control (U+0000–U+001F: NUL, BS, TAB, LF, VT, FF, CR, ESC, the separators
//!   U+001C–U+001E ...) and DEL (U+007F): `\xHH`;
//! - every C1 control (U+0080–U+009F, among them U+0085 NEL and U+009B CSI, which some
//!   terminals honour as ESC `[`), the line and paragraph separators U+2028 and U+2029,
//!   and the bidirectional formatting characters (U+061C, U+200E, U+200F, U+202A–U+202E,
//!   U+2066–U+2069, which reorder what a terminal shows): `\u{h…}` (lowercase hex, no
//!   leading zeros, as Rust's `char::escape_unicode`);
//! - the backslash itself: `\\`, so the escaping is unambiguous: [`unescape`] recovers
//!   the exact bytes from [`escape_into`]'s output.
//!
//! Python's `str.splitlines` (the widest common splitter) breaks at LF, VT, FF, CR,
//! U+001C–U+001E, U+0085, U+2028 and U+2029: all escaped.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

/// Whether a character of valid UTF-8 is written as an escape.
pub fn needs_escape(c: char) -> bool {
    matches!(
        c,
        '\0'..='\x1f'
            | '\x7f'..='\u{9f}'
            | '\\'
            | '\u{61c}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
    )
}

/// Appends `bytes`, escaped, to `out`.
pub fn escape_into(bytes: &[u8], out: &mut String) {
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_char(c, out);
        }
        for &b in chunk.invalid() {
            push_byte(b, out);
        }
    }
}

/// `bytes`, escaped.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    escape_into(bytes, &mut out);
    out
}

/// Bytes of `escape(bytes)`, without building it.
pub fn escaped_len(bytes: &[u8]) -> usize {
    let mut n = 0;
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            n += match c {
                '\\' => 2,
                '\0'..='\x1f' | '\x7f' => 4,
                c if needs_escape(c) => 4 + hex_digits(u32::from(c)),
                c => c.len_utf8(),
            };
        }
        n += 4 * chunk.invalid().len();
    }
    n
}

fn hex_digits(v: u32) -> usize {
    (32 - (v | 1).leading_zeros()).div_ceil(4) as usize
}

fn push_char(c: char, out: &mut String) {
    match c {
        '\\' => out.push_str("\\\\"),
        // ASCII controls: one byte each, written as the byte.
        '\0'..='\x1f' | '\x7f' => push_byte(c as u8, out),
        c if needs_escape(c) => {
            // Writing to a String cannot fail.
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
        c => out.push(c),
    }
}

fn push_byte(b: u8, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push_str("\\x");
    out.push(char::from(HEX[usize::from(b >> 4)]));
    out.push(char::from(HEX[usize::from(b & 15)]));
}

/// The bytes [`escape`] was given, or `None` if `text` is not something it can write: a
/// character it escapes appearing raw, a `\` not starting `\\`, `\xHH` (two lowercase hex
/// digits) or `\u{h…}` naming a character it escapes (canonical hex: lowercase, no
/// leading zeros).
pub fn unescape(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        rest = &rest[c.len_utf8()..];
        if c != '\\' {
            if needs_escape(c) {
                return None;
            }
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match rest.as_bytes().first()? {
            b'\\' => {
                out.push(b'\\');
                rest = &rest[1..];
            }
            b'x' => {
                let hex = rest.get(1..3)?;
                if !hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                {
                    return None;
                }
                out.push(u8::from_str_radix(hex, 16).ok()?);
                rest = &rest[3..];
            }
            b'u' => {
                let body = rest.strip_prefix("u{")?;
                let end = body.find('}')?;
                let hex = &body[..end];
                let canonical = !hex.is_empty()
                    && hex.len() <= 6
                    && !hex.starts_with('0')
                    && hex
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
                if !canonical {
                    return None;
                }
                let c = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
                if !needs_escape(c) || c.is_ascii() {
                    return None;
                }
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                rest = &body[end + 1..];
            }
            _ => return None,
        }
    }
    Some(out)
}

/// Whether `text` contains nothing [`escape`] would have escaped, apart from the
/// backslashes of its escapes: true of every output of [`escape`].
pub fn is_inert(text: &str) -> bool {
    text.chars().all(|c| c == '\\' || !needs_escape(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_text_and_utf8_pass_through() {
        assert_eq!(escape(b"hello, world 100%"), "hello, world 100%");
        assert_eq!(escape("café → ✓ 日本".as_bytes()), "café → ✓ 日本");
        assert_eq!(escape(b""), "");
    }

    #[test]
    fn controls_separators_and_bad_bytes_are_escaped() {
        for (raw, escaped) in [
            (&b"\x1b[2K\r@@RESULT pass"[..], "\\x1b[2K\\x0d@@RESULT pass"),
            (b"a\x08\x08b", "a\\x08\\x08b"),
            (b"tab\there", "tab\\x09here"),
            (b"nl\n", "nl\\x0a"),
            (b"\0\x7f", "\\x00\\x7f"),
            ("x\u{85}@@RESULT pass".as_bytes(), "x\\u{85}@@RESULT pass"),
            ("\u{9b}2J".as_bytes(), "\\u{9b}2J"),
            ("\u{80}\u{9f}\u{a0}".as_bytes(), "\\u{80}\\u{9f}\u{a0}"),
            ("a\u{2028}b\u{2029}c".as_bytes(), "a\\u{2028}b\\u{2029}c"),
            ("\u{202e}evil\u{2066}".as_bytes(), "\\u{202e}evil\\u{2066}"),
            // Invalid UTF-8: a lone continuation byte, a truncated sequence, an overlong
            // encoding, a surrogate; the bytes of C1 as raw Latin-1.
            (b"\x80", "\\x80"),
            (b"\xe2\x80", "\\xe2\\x80"),
            (b"\xc0\xaf", "\\xc0\\xaf"),
            (b"\xed\xa0\x80", "\\xed\\xa0\\x80"),
            (b"\x85", "\\x85"),
            (b"back\\slash", "back\\\\slash"),
            (b"\\x41", "\\\\x41"),
        ] {
            assert_eq!(escape(raw), escaped, "{raw:?}");
            assert_eq!(escaped_len(raw), escaped.len(), "{raw:?}");
            assert_eq!(unescape(escaped).as_deref(), Some(raw), "{escaped}");
            assert!(is_inert(escaped), "{escaped}");
        }
    }

    #[test]
    fn the_escape_character_is_escaped_so_nothing_is_ambiguous() {
        // A compartment writing the text of an escape gets a different line than one
        // writing the byte it stands for.
        assert_ne!(escape(b"\\x1b"), escape(b"\x1b"));
        assert_ne!(escape("\\u{85}".as_bytes()), escape("\u{85}".as_bytes()));
        // The valid character U+0085 and the invalid byte 0x85 differ too.
        assert_ne!(escape("\u{85}".as_bytes()), escape(b"\x85"));
    }

    #[test]
    fn unescape_refuses_what_escape_never_writes() {
        for bad in [
            "\\",
            "\\q",
            "\\x4",
            "\\xZZ",
            "\\x1B",
            "\\u{}",
            "\\u{41}",
            "\\u{085}",
            "\\u{2028",
            "\\u{110000}",
            "\\u{d800}",
            "raw\u{85}",
            "raw\x1b",
            "raw\u{2028}",
        ] {
            assert_eq!(unescape(bad), None, "{bad:?}");
        }
    }
}
