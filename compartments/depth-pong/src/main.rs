//! Half of the `max-depth` scenario: `down(n)` calls `depth-ping.down(n - 1)` and adds
//! one level; a call refused with TooDeep ends the chain with [`TOO_DEEP_MARK`].
#![no_std]
#![no_main]

use tessera_sdk::gate::CallError;

tessera_sdk::entry!(main);

/// What a level returns when its call was refused with TooDeep.
const TOO_DEEP_MARK: u64 = 1000;
/// What a level returns when its call failed otherwise.
const OTHER_ERROR_MARK: u64 = 2000;

tessera_sdk::import! {
    ping = "depth-ping" {
        fn down(n: u64) -> u64;
    }
}

tessera_sdk::exports! {
    /// `n` levels of ping/pong calls below this one, counting this one.
    fn down(n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        match ping::down(n - 1) {
            Ok(levels) => levels + 1,
            Err(CallError::TooDeep) => TOO_DEEP_MARK,
            Err(_) => OTHER_ERROR_MARK,
        }
    }
}

fn main() -> i32 {
    0
}
