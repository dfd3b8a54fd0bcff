//! The call-buffer encoding: round trips of every supported kind of type, and decodes of
//! hostile input (any bytes, any length) that fail cleanly and never panic.

use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use tessera_wire::{Rejection, Reply, WireError, decode, encode_into, fingerprint, read, reply};

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Stats {
    keys: u32,
    bytes: u64,
    name: String,
    last: Option<i64>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
enum StoreError {
    NotFound,
    Full { capacity: u32 },
    Bad(String),
}

type Everything = (
    u8,
    i64,
    bool,
    String,
    Vec<u8>,
    Option<u16>,
    Result<Stats, StoreError>,
    (u128, char),
);

fn stats() -> impl Strategy<Value = Stats> {
    (any::<u32>(), any::<u64>(), ".{0,20}", any::<Option<i64>>()).prop_map(
        |(keys, bytes, name, last)| Stats {
            keys,
            bytes,
            name,
            last,
        },
    )
}

fn store_error() -> impl Strategy<Value = StoreError> {
    prop_oneof![
        Just(StoreError::NotFound),
        any::<u32>().prop_map(|capacity| StoreError::Full { capacity }),
        ".{0,10}".prop_map(StoreError::Bad),
    ]
}

fn everything() -> impl Strategy<Value = Everything> {
    (
        any::<u8>(),
        any::<i64>(),
        any::<bool>(),
        ".{0,40}",
        prop::collection::vec(any::<u8>(), 0..64),
        any::<Option<u16>>(),
        prop_oneof![stats().prop_map(Ok), store_error().prop_map(Err)],
        (any::<u128>(), any::<char>()),
    )
}

proptest! {
    #[test]
    fn every_supported_type_round_trips(value in everything()) {
        let mut buffer = [0u8; 4096];
        let len = encode_into(&value, &mut buffer).expect("fits");
        let bytes = read(&buffer, len as u64).expect("in bounds");
        prop_assert_eq!(decode::<Everything>(bytes), Ok(value));
    }

    #[test]
    fn borrowed_str_and_bytes_arguments_decode_in_place(s in ".{0,40}", b in prop::collection::vec(any::<u8>(), 0..40)) {
        let mut buffer = [0u8; 256];
        let len = encode_into(&(s.as_str(), b.as_slice()), &mut buffer).expect("fits");
        let (ds, db): (&str, &[u8]) = decode(&buffer[..len]).expect("decodes");
        prop_assert_eq!((ds, db), (s.as_str(), b.as_slice()));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        // Whatever a hostile peer wrote: a value or an error, never a panic.
        let _ = decode::<Everything>(&bytes);
        let _ = decode::<(&str, &str)>(&bytes);
        let _ = decode::<Result<String, StoreError>>(&bytes);
        let _ = decode::<Vec<Stats>>(&bytes);
    }

    #[test]
    fn every_truncation_and_extension_is_malformed(value in everything(), extra in 1u8..=255) {
        let mut buffer = [0u8; 4096];
        let len = encode_into(&value, &mut buffer).expect("fits");
        for cut in 0..len {
            prop_assert_eq!(decode::<Everything>(&buffer[..cut]), Err(WireError::Malformed));
        }
        buffer[len] = extra;
        prop_assert_eq!(decode::<Everything>(&buffer[..=len]), Err(WireError::Malformed));
    }

    #[test]
    fn lengths_beyond_the_buffer_are_refused(size in 0usize..64, len in any::<u64>()) {
        let buffer = vec![0u8; size];
        let got = read(&buffer, len);
        if len <= size as u64 {
            prop_assert_eq!(got.map(<[u8]>::len), Ok(len as usize));
        } else {
            prop_assert_eq!(got, Err(WireError::BadLength));
        }
    }

    #[test]
    fn a_reply_register_is_a_length_a_rejection_or_garbage(rax in any::<u64>()) {
        match reply(rax) {
            Reply::Length(n) => prop_assert_eq!(n, rax),
            Reply::Rejected(r) => prop_assert_eq!(r.code(), rax),
            Reply::Garbage => prop_assert!(rax > tessera_wire::MAX_LENGTH && Rejection::from_code(rax).is_none()),
        }
    }
}

#[test]
fn an_encoding_that_does_not_fit_is_too_large() {
    let mut buffer = [0u8; 8];
    assert_eq!(
        encode_into("more than eight", &mut buffer),
        Err(WireError::TooLarge)
    );
    assert_eq!(encode_into("fits", &mut buffer), Ok(5));
    let mut none: [u8; 0] = [];
    assert_eq!(encode_into(&(), &mut none), Ok(0), "() encodes to nothing");
}

#[test]
fn a_lying_length_prefix_is_malformed_not_an_allocation() {
    // A string claiming 2^32 bytes in a 6-byte buffer.
    let bytes = [0x80, 0x80, 0x80, 0x80, 0x10, b'x'];
    assert_eq!(decode::<String>(&bytes), Err(WireError::Malformed));
    assert_eq!(decode::<Vec<u8>>(&bytes), Err(WireError::Malformed));
    // Invalid UTF-8, an unknown variant, a bool that is 2.
    assert_eq!(
        decode::<String>(&[2, 0xff, 0xfe]),
        Err(WireError::Malformed)
    );
    assert_eq!(decode::<StoreError>(&[9]), Err(WireError::Malformed));
    assert_eq!(decode::<bool>(&[2]), Err(WireError::Malformed));
}

#[test]
fn rejection_codes_are_distinct_and_far_above_any_length() {
    for (i, r) in Rejection::ALL.iter().enumerate() {
        assert_eq!(r.code(), u64::MAX - i as u64);
        assert_eq!(Rejection::from_code(r.code()), Some(*r));
        assert_eq!(reply(r.code()), Reply::Rejected(*r));
    }
    assert_eq!(reply(0), Reply::Length(0));
    assert_eq!(reply(1 << 40), Reply::Garbage);
}

#[test]
fn fingerprints_are_fnv1a_and_see_every_character() {
    assert_eq!(fingerprint(""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fingerprint("a"), 0xaf63_dc4c_8601_ec8c);
    assert_ne!(
        fingerprint("fn get(key: &str) -> u64"),
        fingerprint("fn get(key: &str) -> u32")
    );
}
