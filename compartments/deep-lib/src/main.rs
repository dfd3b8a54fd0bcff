//! The honest middle of app → lib → plugin: `relay(mode)` calls attack-plugin's
//! `work(mode)` and returns its result, or 0xFA11 when the plugin did not answer properly
//! (its call failed). `ping(x)` returns `x`.
#![no_std]
#![no_main]

use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

tessera_sdk::import! {
    plugin = "attack-plugin" {
        fn work(mode: u64) -> u64;
    }
}

tessera_sdk::exports! {
    /// The plugin's answer to `work(mode)`, or 0xFA11 if it failed.
    fn relay(mode: u64) -> u64 {
        match plugin::work(mode) {
            Ok(answer) => answer,
            Err(e) => {
                println!("deep-lib: attack-plugin.work({mode}) -> {e}");
                0xFA11
            }
        }
    }

    /// Returns `x`.
    fn ping(x: u64) -> u64 {
        x
    }
}

fn main() -> i32 {
    0
}
