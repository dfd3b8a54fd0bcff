//! Property tests of REPORT lines: whatever a compartment sends, the result is refused or
//! is one printable `@@` line of an allowed word whose only identity key is the
//! `compartment` L1 put first.

use proptest::prelude::*;
use tessera_abi::hypercall::REPORT_WORDS;
use tessera_abi::transcript::IDENTITY_KEYS;
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
