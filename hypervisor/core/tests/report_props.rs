//! Property tests of REPORT lines: whatever a compartment sends, the result is refused or
//! is one printable `@@` line of an allowed word whose only identity key is the
//! `compartment` L1 put first; and the same for `@@APP` lines (APP_REPORT), whose values
//! decode to exactly what the compartment sent.

use proptest::prelude::*;
use tessera_abi::hypercall::app::{Writer, check_key};
use tessera_abi::hypercall::{REPORT_MAX, REPORT_WORDS};
use tessera_abi::transcript::IDENTITY_KEYS;
use tessera_core::report::app::app_line;
use tessera_core::report::report_line;

/// Text that is often nearly a report: words, keys (identity keys among them), JSON
/// punctuation.
fn nearly_a_report() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        prop::sample::select(REPORT_WORDS).prop_map(String::from),
        prop::sample::select(IDENTITY_KEYS).prop_map(String::from),
        Just(" ".to_string()),
        Just("=".to_string()),
        Just("\"".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just(":".to_string()),
        Just(",".to_string()),
        Just("\\".to_string()),
        Just("\n@@RESULT pass".to_string()),
        "[a-z0-9.]{1,6}",
        "[ -~]{0,6}",
    ];
    prop::collection::vec(token, 0..24).prop_map(|t| t.concat().into_bytes())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn accepted_reports_are_one_line_with_l1s_identity_only(
        line in prop_oneof![nearly_a_report(), prop::collection::vec(any::<u8>(), 0..64)],
    ) {
        let Ok(out) = report_line("me", &line) else {
            return Ok(());
        };
        prop_assert!(out.bytes().all(|b| b.is_ascii_graphic() || b == b' '), "{out:?}");
        let word = out.strip_prefix("@@").and_then(|o| o.split(' ').next()).unwrap_or("");
        prop_assert!(REPORT_WORDS.contains(&word), "{out}");
        if word == "BENCH" {
            prop_assert!(out.starts_with("@@BENCH {\"compartment\":\"me\""), "{out}");
            for key in IDENTITY_KEYS {
                let quoted = format!("\"{key}\"");
                let expected = usize::from(*key == "compartment");
                // As a member name (followed by optional space and a colon).
                let as_name = out
                    .match_indices(&quoted)
                    .filter(|(i, _)| out[i + quoted.len()..].trim_start().starts_with(':'))
                    .count();
                prop_assert_eq!(as_name, expected, "{}", out);
            }
        } else {
            let mut tokens = out.split(' ').skip(1);
            prop_assert_eq!(tokens.next(), Some("compartment=me"), "{}", out);
            for t in tokens {
                let key = t.split_once('=').map(|(k, _)| k);
                prop_assert!(key.is_some_and(|k| !IDENTITY_KEYS.contains(&k)), "{}", out);
            }
        }
    }
}

/// The exact bytes an encoded `@@` text value stands for.
fn decode(value: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut bytes = value.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex: String = bytes.by_ref().take(2).map(char::from).collect();
            out.push(u8::from_str_radix(&hex, 16).expect("two hex digits"));
        } else {
            out.push(b);
        }
    }
    out
}

/// A valid `@@APP` key, identity keys among the candidates (which L1 refuses).
fn app_key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9_.]{1,8}",
        prop::sample::select(IDENTITY_KEYS).prop_map(String::from),
    ]
}

/// Bytes that are often nearly an APP_REPORT buffer: pairs with good, identity and bad
/// keys, any value bytes, sometimes cut short or with a wrong length.
fn nearly_app_pairs() -> impl Strategy<Value = Vec<u8>> {
    let key = prop_oneof![
        app_key().prop_map(String::into_bytes),
        "[ -~]{0,4}".prop_map(String::into_bytes),
    ];
    let pair = (key, prop::collection::vec(any::<u8>(), 0..8), 0..4u8);
    (prop::collection::vec(pair, 0..5), any::<u8>()).prop_map(|(pairs, cut)| {
        let mut buf = Vec::new();
        for (key, value, skew) in pairs {
            buf.push(key.len() as u8);
            buf.extend_from_slice(&key);
            let len = value.len() + usize::from(skew == 3);
            buf.extend_from_slice(&(len as u16).to_le_bytes());
            buf.extend_from_slice(&value);
        }
        if cut < 32 {
            buf.truncate(buf.len().saturating_sub(usize::from(cut % 4)));
        }
        buf
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Whatever bytes a compartment sends to APP_REPORT: refused, or one printable line
    /// `@@APP compartment=me key=value ...` with no other identity key.
    #[test]
    fn accepted_app_lines_are_one_line_with_l1s_identity_only(
        buffer in prop_oneof![nearly_app_pairs(), prop::collection::vec(any::<u8>(), 0..64)],
    ) {
        let Ok(out) = app_line("me", &buffer) else {
            return Ok(());
        };
        prop_assert!(out.bytes().all(|b| b.is_ascii_graphic() || b == b' '), "{out:?}");
        let mut tokens = out.split(' ');
        prop_assert_eq!(tokens.next(), Some("@@APP"));
        prop_assert_eq!(tokens.next(), Some("compartment=me"));
        for t in tokens {
            let (key, _) = t.split_once('=').expect("key=value");
            prop_assert!(!IDENTITY_KEYS.contains(&key), "{}", out);
            prop_assert!(check_key(key.as_bytes()).is_ok(), "{}", out);
        }
    }

    /// What the SDK's writer sends comes out as the same keys and, decoded, the same
    /// values: any text survives, escaped. The writer refuses identity keys itself.
    #[test]
    fn app_values_round_trip_through_the_encoding(
        pairs in prop::collection::btree_map(app_key(), any::<String>(), 0..6),
    ) {
        let mut writer = Writer::<{ REPORT_MAX as usize }>::new();
        let mut sent = Vec::new();
        for (key, value) in &pairs {
            let pushed = writer.push(key, value);
            if IDENTITY_KEYS.contains(&key.as_str()) {
                prop_assert_eq!(pushed, Err(tessera_abi::error::IDENTITY_KEY));
            } else if pushed.is_ok() {
                sent.push((key.clone(), value.clone()));
            }
        }
        let out = app_line("me", writer.as_bytes());
        prop_assert!(out.is_ok(), "{:?}", out);
        let got: Vec<(String, String)> = out
            .unwrap_or_default()
            .split(' ')
            .skip(2)
            .map(|t| {
                let (k, v) = t.split_once('=').expect("key=value");
                (k.to_owned(), String::from_utf8(decode(v)).expect("UTF-8"))
            })
            .collect();
        prop_assert_eq!(got, sent);
    }
}
