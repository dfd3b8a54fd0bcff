//! The interfaces of the typed-hostile scenario: `honest`, which `typed-liar` serves with
//! `serve!`, and `lying`, whose export it writes by hand to answer with garbage.
#![no_std]

extern crate alloc;

use alloc::string::String;

tessera_sdk::interface! {
    /// Served as the SDK serves it.
    pub mod honest: Honest = "typed-liar" {
        /// `text` with a `!` appended.
        fn shout(text: &str) -> String;
    }

    /// Declared like any interface; its one export is hand-written and lies.
    pub mod lying: Lying = "typed-liar" {
        fn lie() -> String;
    }
}
