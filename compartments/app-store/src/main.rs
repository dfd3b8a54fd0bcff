//! A tiny store for scenario `app-reports`: its export `put(n)` emits `@@APP op=put n=N`
//! while app-client's `main` is the one running, so the line must carry
//! `compartment=app-store` (the view that made the hypercall), not the caller's name.
//! `own_word()` tries a REPORT word of its own from inside the export and returns the
//! code (NO_SUCH_WORD expected, the same as from a `main`).
#![no_std]
#![no_main]

use tessera_sdk::hypercall::Error;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

tessera_sdk::exports! {
    /// Emits `@@APP compartment=app-store op=put n=N`; 0, or the error code.
    fn put(n: u64) -> u64 {
        match tessera_sdk::app!(op = "put", n = n) {
            Ok(()) => 0,
            Err(Error(code)) => code as u64,
        }
    }

    /// REPORT with the word `KV`: its error code (0 if it were accepted).
    fn own_word() -> u64 {
        // A variable, not a literal: a literal word that is not a REPORT word does not
        // compile.
        let word = core::hint::black_box("KV");
        match tessera_sdk::report!(word, "puts=1") {
            Ok(()) => 0,
            Err(e) => e.error.0 as u64,
        }
    }
}

fn main() -> i32 {
    match tessera_sdk::app!(ready = true) {
        Ok(()) => 0,
        Err(e) => {
            println!("app-store: @@APP refused: {e}");
            1
        }
    }
}
