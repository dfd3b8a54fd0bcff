//! Attack (issue 10, reports): poses as another compartment in machine-readable lines.
//! Before, `@@CALL caller=... callee=...` and `@@BENCH` JSON took whatever identity the
//! reporter wrote, after L1's `compartment=`; a reader taking the first or the last
//! `compartment` could be told the victim reported, or that the victim called someone.
//!
//! Sends REPORTs that name `compartment`, `caller`, `callee` or `cpu` (as `key=value`,
//! and as JSON members at the top level and nested). Expected: each refused with
//! IDENTITY_KEY, a malformed one with BAD_REPORT, an honest one printed as
//! `@@ROUNDTRIPS compartment=attack-report-identity n=1`; exit 0. Any forged report that
//! gets through: `not contained`, exit 1.
#![no_std]
#![no_main]

use attack_kit::not_contained;
use tessera_sdk::abi::error;
use tessera_sdk::hypercall::Error;
use tessera_sdk::prelude::*;
use tessera_sdk::report;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");

fn main() -> i32 {
    println!("{NAME}: reporting as someone else");
    let forged = [
        (
            "CALL",
            "caller=victim callee=bystander export=ping result=ok",
        ),
        ("CALL", "target=bystander callee=victim result=ok"),
        ("ROUNDTRIPS", "compartment=victim n=10000 exits=0"),
        ("ROUNDTRIPS", "n=1 cpu=1"),
        ("BENCH", r#"{"compartment":"victim","name":"gate-0"}"#),
        ("BENCH", r#"{"name":"gate-0","compartment":"victim"}"#),
        ("BENCH", r#"{"name":"gate-0","run":{"caller":"victim"}}"#),
        ("BENCH", r#"{"name":"gate-0","runs":[{"cpu":3}]}"#),
    ];
    for (word, rest) in forged {
        match report!(word, "{rest}").map_err(Error::from) {
            Err(Error(error::IDENTITY_KEY)) => {}
            other => {
                return not_contained(NAME, format_args!("REPORT {word} {rest} -> {other:?}"));
            }
        }
    }
    // The old trick for a second identity: JSON that is not one object.
    let malformed =
        report!("BENCH", r#"{{"name":"x"}},{{"compartment":"victim"}}"#).map_err(Error::from);
    if malformed != Err(Error(error::BAD_REPORT)) {
        return not_contained(NAME, format_args!("two JSON objects -> {malformed:?}"));
    }
    match report!("ROUNDTRIPS", "n=1") {
        Ok(()) => {
            println!("{NAME}: every forged identity refused");
            0
        }
        Err(e) => {
            println!("{NAME}: an honest report was refused: {e}");
            2
        }
    }
}
