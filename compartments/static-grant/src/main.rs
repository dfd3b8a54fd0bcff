//! Not an attack: a grant used through a `tessera_sdk::grant!` static (issue 14, grants).
//! Checks, in order, and says so on its console:
//! - copies (`write` / `read`) work around a gate call, with no handle kept by hand;
//! - a second borrow of the grant inside a borrow is refused (`Busy`), and so is a copy
//!   into it, so two slices never alias and a live slice never changes;
//! - a gate call inside a borrow panics, naming *this* file's line (the SDK's call path is
//!   `#[track_caller]`), like panic-grant-view's.
#![no_std]
#![no_main]

use tessera_sdk::grant_static::GrantError;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

tessera_sdk::import! {
    victim {
        fn ping(x: u64) -> u64;
    }
}

tessera_sdk::grant!(
    /// The manifest's grant `scratch`, writable here.
    static SCRATCH = "scratch"
);

fn main() -> i32 {
    if let Err(why) = copies_around_a_call() {
        println!("static-grant: copies failed: {why}");
        return 2;
    }
    println!("STATIC-GRANT copies=ok");
    let nested = SCRATCH.with(|_| SCRATCH.with_mut(|_| ()).err());
    let copy_in = SCRATCH.with(|_| SCRATCH.write(0, b"x").err());
    if nested != Ok(Some(GrantError::Busy)) || copy_in != Ok(Some(GrantError::Busy)) {
        println!("static-grant: a nested borrow was not refused: {nested:?} {copy_in:?}");
        return 3;
    }
    println!("STATIC-GRANT busy=ok");
    println!("static-grant: calling victim.ping inside a borrow of the grant");
    let answer = SCRATCH.with(|bytes| victim::ping(bytes.len() as u64));
    println!("static-grant: the call went through ({answer:?}): not caught");
    1
}

/// Writes a pattern, calls the victim, reads it back: a copy holds no reference into the
/// grant, so nothing stops the call.
fn copies_around_a_call() -> Result<(), String> {
    let size = SCRATCH.size().map_err(|e| format!("{e}"))?;
    SCRATCH
        .write(size - 4, b"tsra")
        .map_err(|e| format!("{e}"))?;
    victim::ping(7).map_err(|e| format!("victim.ping: {e}"))?;
    let mut back = [0; 4];
    SCRATCH
        .read(size - 4, &mut back)
        .map_err(|e| format!("{e}"))?;
    if &back != b"tsra" {
        return Err(format!("read back {back:?}"));
    }
    match SCRATCH.write(size - 3, b"tsra") {
        Err(GrantError::OutOfRange { .. }) => Ok(()),
        other => Err(format!("a write past the end gave {other:?}")),
    }
}
