//! The honest top of a three-deep chain, app → lib → plugin, in which the plugin breaks
//! the protocol every way it can (attack-plugin's modes) and, at depth 1, tries to frame
//! this compartment directly. Nothing it does may stop this compartment or deep-lib: each
//! relay ends with deep-lib answering (it reports the plugin's failure), deep-lib keeps
//! serving, and this compartment exits 0.
#![no_std]
#![no_main]

use tessera_sdk::gate::CallError;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

tessera_sdk::import! {
    deep_lib = "deep-lib" {
        fn relay(mode: u64) -> u64;
        fn ping(x: u64) -> u64;
    }
    plugin = "attack-plugin" {
        fn work(mode: u64) -> u64;
    }
}

/// What deep-lib's relay returns when the plugin did not answer properly.
const PLUGIN_FAILED: u64 = 0xFA11;

fn main() -> i32 {
    // Depth 2: app → lib → plugin, one attack per mode; mode 4 stops the plugin.
    for mode in [1u64, 2, 3, 4] {
        match deep_lib::relay(mode) {
            Ok(PLUGIN_FAILED) => {
                println!("deep-app: relay({mode}) -> the plugin failed, deep-lib answered")
            }
            other => {
                println!("deep-app: relay({mode}) -> {other:?}: not the plugin's failure");
                return 1;
            }
        }
        match deep_lib::ping(mode) {
            Ok(x) if x == mode => {}
            other => {
                println!("deep-app: deep-lib.ping after mode {mode} -> {other:?}");
                return 1;
            }
        }
    }
    // Depth 1 after the plugin was stopped: refused, never run.
    match plugin::work(3) {
        Err(CallError::CalleeFailed) => println!("deep-app: the stopped plugin is refused"),
        other => {
            println!("deep-app: attack-plugin.work after its stop -> {other:?}");
            return 1;
        }
    }
    println!("deep-app: never stopped, deep-lib served every time; all fine");
    0
}
