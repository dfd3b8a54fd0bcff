//! The interfaces of the typed scenarios. typed-hostile: `honest`, which `typed-liar`
//! serves with `serve!`, and `lying`, whose export it writes by hand to answer with
//! garbage. typed-reentrant: `relay` and `leaf` (served by `typed-inner`) and `echo`
//! (served by `typed-outer`), which call each other back over the same edges.
#![no_std]

extern crate alloc;

use alloc::string::String;
use tessera_sdk::serde::{Deserialize, Serialize};

/// A struct across the gate with no serde dependency of this crate's own: the SDK's
/// re-export, named by `#[serde(crate = ...)]`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(crate = "tessera_sdk::serde")]
pub struct Shouted {
    pub text: String,
    pub marks: u8,
}

tessera_sdk::interface! {
    /// Served as the SDK serves it.
    pub mod honest: Honest = "typed-liar" {
        /// `text` with a `!` appended.
        fn shout(text: &str) -> String;
        /// `text` with `marks` `!`s, as a struct.
        fn shout_struct(text: &str, marks: u8) -> Shouted;
    }

    /// Declared like any interface; its one export is hand-written and lies.
    pub mod lying: Lying = "typed-liar" {
        fn lie() -> String;
    }
}

tessera_sdk::interface! {
    /// typed-inner's first interface: calls back into typed-outer while it runs.
    pub mod relay: Relay = "typed-inner" {
        /// `relay(ECHO)`, where ECHO is what `echo::echo(text + ">inner")` answered.
        fn relay(text: &str) -> String;
    }

    /// typed-inner's second interface (its own server, so it is not busy while `relay`
    /// runs).
    pub mod leaf: Leaf = "typed-inner" {
        /// `[text]`.
        fn mark(text: &str) -> String;
    }

    /// typed-outer's interface, called back by `relay`.
    pub mod echo: Echo = "typed-outer" {
        /// `leaf::mark(text)`, `|`, and what a second, re-entrant `relay` call gave.
        fn echo(text: &str) -> String;
    }
}
