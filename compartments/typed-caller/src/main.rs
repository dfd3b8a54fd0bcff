//! The caller of the typed-hostile scenario (see its tessera.toml): every hostile reply
//! is a `CallError`, never a fault or a panic; hostile requests are rejected by the
//! callee's shim. Each check ends in an `@@APP compartment=typed-caller check=NAME
//! got=...` line; exit 0 if all went as expected.
#![no_std]
#![no_main]

use tessera_sdk::gate;
use tessera_sdk::prelude::*;
use tessera_sdk::typed::Rejection;
use typed_api::{honest, lying};

tessera_sdk::entry!(main);

fn main() -> i32 {
    let mut wrong = 0;
    let mut check = |name: &str, got: String, expected: &str| {
        let _ = tessera_sdk::app!(check = name, got = got, ok = got == expected);
        if got != expected {
            println!("typed-caller: {name}: got {got}, expected {expected}");
            wrong += 1;
        }
    };
    for name in ["past-the-buffer", "not-a-string", "not-a-length"] {
        check(name, format!("{:?}", lying::lie()), "Err(BadReply)");
    }
    check("valid", format!("{:?}", lying::lie()), "Ok(\"ok\")");
    // Raw gate calls to the SDK-served `shout`: a wrong fingerprint, then a length past
    // the call buffer with the right one.
    let raw = |len: u64, fingerprint: u64| {
        let answer = gate::lookup("typed-liar", "shout")
            .and_then(|target| gate::call(target, [len, fingerprint, 0, 0, 0, 0]));
        match answer {
            Ok(code) => format!("{:?}", Rejection::from_code(code)),
            Err(e) => format!("{e:?}"),
        }
    };
    let fingerprint = honest::__fingerprint::shout;
    check("mismatch", raw(0, fingerprint ^ 1), "Some(Mismatch)");
    check("malformed", raw(1 << 20, fingerprint), "Some(Malformed)");
    check(
        "honest",
        format!("{:?}", honest::shout("still served")),
        "Ok(\"still served!\")",
    );
    check(
        "struct",
        format!("{:?}", honest::shout_struct("two", 2)),
        "Ok(Shouted { text: \"two!!\", marks: 2 })",
    );
    i32::from(wrong != 0)
}
