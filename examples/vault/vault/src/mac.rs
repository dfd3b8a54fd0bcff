//! HMAC-SHA256 (RFC 2104 over FIPS 180-4 SHA-256), from RustCrypto's `hmac` and `sha2`.
//! Kept apart from the compartment so it is tested on the host.
#![cfg_attr(not(test), no_std)]

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Bytes of a MAC.
pub const MAC_LEN: usize = 32;

/// The vault's key in this demo: fixed, so the MACs in a transcript can be checked
/// (README.md). The vault does not compile it in: it is the file `examples/vault/key.bin`,
/// which the hypervisor maps read-only into the vault's view only (`[[data]]` in
/// tessera.toml); the host tests check the file holds it.
pub const DEMO_KEY: [u8; 32] = *b"tessera-vault-demo-key-012345678";

/// HMAC-SHA256 of `msg` under `key`.
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; MAC_LEN] {
    // HMAC takes keys of any length (RFC 2104 §2), so this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        unreachable!("HMAC accepts every key length")
    };
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    #[test]
    fn the_provisioned_key_file_is_the_demo_key() {
        assert_eq!(include_bytes!("../../key.bin"), &DEMO_KEY);
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn sha256_fips_180_4_abc() {
        assert_eq!(
            hex(&Sha256::digest(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn rfc4231_test_case_1() {
        assert_eq!(
            hex(&hmac_sha256(&[0x0b; 20], b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
    }

    #[test]
    fn rfc4231_test_case_2() {
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    /// The `SIGNED ... mac=` values the example's transcript must show.
    #[test]
    fn demo_transcript_macs() {
        for (msg, mac) in [
            (
                "attack at dawn",
                "8a308287ca215f32b139ca2503adaa8606e8f644ce6b8f57192e8eaf077bcf24",
            ),
            (
                "transfer 100 coins to bob",
                "4dd384bd46c69d618b3cb8c5b9cca8de5f7cc4287f4b8c1e24c0a10dc58b8ee4",
            ),
            (
                "the quick brown fox jumps over the lazy dog",
                "75e768863cbdbe103b1f43678039bc37f27b4f8135fc4fbbe40862ab6c8098bc",
            ),
            (
                "signed again after a restart",
                "3bdaebdeff68c89bbf2b9cbc898a15cdb7d93f5c87fd811c9b7c44410236d3a3",
            ),
            (
                "audit: the vault still serves after the client was stopped",
                "e257b148711eac77074505b249cba7c99948e69b0f3a5bd78f65610e4d6c56c1",
            ),
        ] {
            assert_eq!(hex(&hmac_sha256(&DEMO_KEY, msg.as_bytes())), mac, "{msg}");
        }
    }

    #[test]
    fn rfc4231_test_case_6_key_longer_than_a_block() {
        assert_eq!(
            hex(&hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }
}
