//! Property tests of the console sanitiser and budget: whatever bytes a compartment
//! writes, in whatever pieces, every printed line is `[NAME] ` + inert text (no control
//! character, no line separator, nothing a splitter breaks at), the escaping is
//! reversible, the budget is never exceeded, and `@@TRUNCATED` comes at most once, last.

use proptest::prelude::*;
use tessera_core::console::escape::{escape, escaped_len, is_inert, unescape};
use tessera_core::console::{Console, MAX_LINE, MAX_LINE_COST};

/// Where any line splitter breaks a line (Python's `str.splitlines`, Unicode UAX #14
/// mandatory breaks) and what a terminal acts on.
fn breaks_or_controls(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// Bytes that are mostly the dangerous ones: controls, C1 as UTF-8 and as raw bytes, the
/// separators, backslashes, broken sequences, plain text.
fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\x1b[2K".to_vec()),
        Just(b"\x08".to_vec()),
        Just(b"\\".to_vec()),
        Just(b"\\x1b".to_vec()),
        Just("\u{85}".as_bytes().to_vec()),
        Just("\u{9b}".as_bytes().to_vec()),
        Just("\u{2028}".as_bytes().to_vec()),
        Just("\u{2029}".as_bytes().to_vec()),
        Just("\u{202e}".as_bytes().to_vec()),
        Just(b"\x85".to_vec()),
        Just(b"\xe2\x80".to_vec()),
        Just("é".as_bytes().to_vec()),
        Just(b"@@RESULT pass".to_vec()),
        "[a-z ]{0,8}".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..8),
    ];
    prop::collection::vec(piece, 0..64).prop_map(|p| p.concat())
}

fn split(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut pieces = Vec::new();
    let mut at = 0;
    for &c in cuts {
        let end = (at + c).min(bytes.len());
        pieces.push(bytes[at..end].to_vec());
        at = end;
    }
    pieces.push(bytes[at..].to_vec());
    pieces
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn escaping_is_inert_reversible_and_measured(bytes in prop_oneof![
        hostile_bytes(),
        prop::collection::vec(any::<u8>(), 0..256),
    ]) {
        let text = escape(&bytes);
        prop_assert!(is_inert(&text), "{text:?}");
        prop_assert!(!text.chars().any(breaks_or_controls), "{text:?}");
        prop_assert_eq!(escaped_len(&bytes), text.len());
        prop_assert_eq!(unescape(&text), Some(bytes.clone()));
    }

    #[test]
    fn unescape_never_panics_and_is_a_left_inverse(text in "(?s).{0,64}") {
        if let Some(bytes) = unescape(&text) {
            // Whatever it accepts means those bytes: escaping them again and undoing
            // that gives them back.
            prop_assert_eq!(unescape(&escape(&bytes)), Some(bytes));
        }
    }

    #[test]
    fn console_lines_are_prefixed_inert_bounded_and_within_budget(
        bytes in hostile_bytes(),
        cuts in prop::collection::vec(0usize..600, 0..8),
        budget in prop_oneof![0u64..64, 64u64..4096, Just(u64::MAX)],
        name in "[a-z0-9_-]{1,32}",
    ) {
        let mut console = Console::new(&name, budget);
        let mut lines: Vec<String> = Vec::new();
        let mut refused = false;
        for piece in split(&bytes, &cuts) {
            let result = console.write(&piece, &mut |l| lines.push(l.to_owned()));
            // Once refused, always refused.
            prop_assert!(!(refused && result.is_ok()));
            refused |= result.is_err();
        }
        console.flush(&mut |l| lines.push(l.to_owned()));
        let prefix = format!("[{name}] ");
        let truncated = format!("@@TRUNCATED compartment={name}");
        let mut spent = 0u64;
        let mut bodies = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            if *line == truncated {
                prop_assert_eq!(i, lines.len() - 1, "@@TRUNCATED is the last line");
                prop_assert!(console.truncated());
                continue;
            }
            let body = line.strip_prefix(&prefix);
            prop_assert!(body.is_some(), "{line:?}");
            let body = body.unwrap_or_default();
            prop_assert!(is_inert(body) && !body.chars().any(breaks_or_controls), "{line:?}");
            prop_assert!(line.len() < MAX_LINE_COST, "{} bytes", line.len());
            spent += line.len() as u64 + 1;
            bodies.extend(unescape(body).unwrap_or_default());
        }
        prop_assert!(spent <= budget);
        // A refused write means the budget ran out (a final flush may also run it out).
        prop_assert!(!refused || console.truncated());
        // What was printed is what was written (newlines aside), up to where the budget
        // ended it.
        let sent: Vec<u8> = bytes.iter().copied().filter(|b| *b != b'\n').collect();
        if console.truncated() {
            prop_assert!(sent.starts_with(&bodies));
        } else {
            prop_assert_eq!(bodies, sent);
        }
    }

    #[test]
    fn one_line_costs_at_most_max_line_cost(bytes in prop::collection::vec(any::<u8>(), MAX_LINE..3 * MAX_LINE)) {
        let name = "n".repeat(32);
        let mut console = Console::new(&name, u64::MAX);
        let mut longest = 0;
        let _ = console.write(&bytes, &mut |l| longest = longest.max(l.len() + 1));
        console.flush(&mut |l| longest = longest.max(l.len() + 1));
        prop_assert!(longest <= MAX_LINE_COST);
    }
}
