//! Not an attack: a mistake the SDK catches at run time. It holds a view of its grant
//! across a gate call, which the SDK refuses with a panic (tessera_sdk::grant). Expected:
//! the panic names *this* file and line, the gate call's (the SDK's call path is
//! `#[track_caller]`), readable on the console and exact in `@@FAULT kind=panic
//! message=`; the runner names the function the fault happened in (docs/debugging.md).
#![no_std]
#![no_main]

use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

tessera_sdk::import! {
    victim {
        fn ping(x: u64) -> u64;
    }
}

fn main() -> i32 {
    let Ok(buf) = grant("buf") else {
        println!("panic-grant-view: no grant buf");
        return 2;
    };
    let view = buf.bytes();
    println!("panic-grant-view: calling victim.ping while a view of the grant is alive");
    let answer = victim::ping(view.len() as u64);
    println!("panic-grant-view: the call went through ({answer:?}): not caught");
    1
}
