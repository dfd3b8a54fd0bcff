//! The round-trip demo's interface, declared once: `pong` implements `Pong` and exports
//! it with `tessera_sdk::serve!`; `ping` calls `pong::pong`.
#![no_std]

tessera_sdk::interface! {
    /// The callee of the round-trip demo.
    pub mod pong: Pong = "pong" {
        /// Returns `x + 1` (wrapping, so no caller can make it panic).
        fn pong(x: u64) -> u64;
    }
}
