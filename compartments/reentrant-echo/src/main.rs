//! `down(n)` calls reentrant-host's `down(n)`: mutual recursion with the host, bounded
//! by each compartment's `max_depth` (TooDeep).
#![no_std]
#![no_main]

use tessera_sdk::gate::CallError;

tessera_sdk::entry!(main);

tessera_sdk::import! {
    host = "reentrant-host" {
        fn down(n: u64) -> u64;
    }
}

tessera_sdk::exports! {
    /// How many nested calls below this one succeeded, counting this one.
    fn down(n: u64) -> u64 {
        if n == 0 {
            return 1;
        }
        match host::down(n - 1) {
            Ok(depth) => depth + 1,
            Err(CallError::TooDeep) => 1,
            Err(_) => 0,
        }
    }
}

fn main() -> i32 {
    0
}
