//! The `max-depth` scenario: re-entrant calls between depth-ping and depth-pong, with
//! depth-ping's manifest entry saying `max_depth = 2`. Its `main` calls
//! `depth-pong.down(9)`; each level calls the other compartment with `n - 1`, so
//! depth-ping's `down` is entered at n = 8, 6, 4, ...: its third activation (n = 4) is
//! refused with TooDeep, and the chain unwinds adding one per level:
//! pong(5) → 1000, ping(6) → 1001, pong(7) → 1002, ping(8) → 1003, pong(9) → 1004.
//! With the default max_depth (16) nothing is refused and the result is 9.
//!
//! Prints `depth-ping: refused at activation 3 of max_depth 2` and exits 0 when the result
//! is 1004; otherwise prints what it got and exits 1.
#![no_std]
#![no_main]

use tessera_sdk::gate::CallError;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

const TOO_DEEP_MARK: u64 = 1000;
const OTHER_ERROR_MARK: u64 = 2000;
/// What `depth-pong.down(9)` returns when the third activation of depth-ping is refused.
const EXPECTED: u64 = TOO_DEEP_MARK + 4;

tessera_sdk::import! {
    pong = "depth-pong" {
        fn down(n: u64) -> u64;
    }
}

tessera_sdk::exports! {
    /// `n` levels of ping/pong calls below this one, counting this one.
    fn down(n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        match pong::down(n - 1) {
            Ok(levels) => levels + 1,
            Err(CallError::TooDeep) => TOO_DEEP_MARK,
            Err(_) => OTHER_ERROR_MARK,
        }
    }
}

fn main() -> i32 {
    match pong::down(9) {
        Ok(EXPECTED) => {
            println!("depth-ping: refused at activation 3 of max_depth 2");
            0
        }
        other => {
            println!("depth-ping: depth-pong.down(9) -> {other:?}, expected Ok({EXPECTED})");
            1
        }
    }
}
