//! Not an attack (scenario `redteam`): runs after `attack-abandon` (declared as
//! `typed-outer`) ended its `main` from inside `typed-inner`'s `relay` callback, leaving
//! that `relay` activation behind with its server lent out. `relay` must serve this
//! compartment anyway: the loan of an activation that can never run again is void
//! (`tessera_sdk::typed::Server`). Reports `@@APP compartment=typed-after answer=...
//! ok=true` and exits 0, or `ok=false`, a `not contained` line and exit 1.
#![no_std]
#![no_main]

use tessera_sdk::prelude::*;
use typed_api::relay;

tessera_sdk::entry!(main);

const EXPECTED: &str = "relay(late)";

fn main() -> i32 {
    let answer = match relay::relay("y") {
        Ok(s) => s,
        Err(e) => format!("relay failed: {e:?}"),
    };
    let ok = answer == EXPECTED;
    let _ = tessera_sdk::app!(answer = answer, ok = ok);
    if ok {
        println!("typed-after: relay serves after an abandoned activation: {answer}");
        0
    } else {
        println!("typed-after: relay answered {answer}: not contained");
        1
    }
}
