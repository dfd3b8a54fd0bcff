//! Core's SHA-256 against the `sha2` crate on random inputs of every length around the
//! block and padding boundaries.

use proptest::prelude::*;
use sha2::Digest as _;
use tessera_core::sha256;

proptest! {
    #[test]
    fn core_sha256_equals_sha2(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let want: [u8; 32] = sha2::Sha256::digest(&bytes).into();
        prop_assert_eq!(sha256::digest(&bytes), want);
    }
}
