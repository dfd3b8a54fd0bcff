//! The frontend: runs a script of text commands through the parser and the store, the
//! two through their typed interface (examples/kvstore/api). Each command ends in one
//! `@@APP compartment=frontend step=N ...` line; the last line sums up.
#![no_std]
#![no_main]

use kvstore_api::{Command, Outcome, parser, store};
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

/// The script: 20 lines of untrusted text, some of them wrong on purpose.
const SCRIPT: [&str; 20] = [
    "put apple red",
    "put banana yellow and curved",
    "get apple",
    "get cherry",
    "put apple green",
    "get apple",
    "stats",
    "delete banana",
    "get banana",
    "frobnicate apple",
    "put lonely",
    "",
    "get apple extra",
    "put this-key-is-far-too-long-for-the-store-to-take value",
    "put cherry dark red",
    "put date brown",
    "delete date",
    "delete date",
    "get cherry",
    "stats",
];

fn main() -> i32 {
    let mut failures = 0;
    for (step, line) in SCRIPT.iter().enumerate() {
        if run(step, line).is_err() {
            failures += 1;
        }
    }
    // Two direct calls: a string in, a Result<String, StoreError> out; a struct out.
    let apple = store::get("apple");
    let stats = store::stats();
    println!("frontend: apple = {apple:?}, stats = {stats:?}");
    match (apple, stats) {
        (Ok(Ok(apple)), Ok(stats)) => {
            let _ = tessera_sdk::app!(
                summary = "done",
                apple = apple.replace(' ', "_"),
                keys = stats.keys,
                puts = stats.puts,
                gets = stats.gets,
                misses = stats.misses,
                call_errors = failures
            );
            0
        }
        _ => 1,
    }
}

/// One line of the script: parse it in the parser's compartment, apply it in the
/// store's. `Err` only for a failed gate call (not for a parse or store error, which
/// are answers).
fn run(step: usize, line: &str) -> Result<(), CallError> {
    let command: Command = match parser::parse(line)? {
        Ok(command) => command,
        Err(e) => {
            println!("frontend: {line:?}: parse error {e:?}");
            let _ = tessera_sdk::app!(step = step, parse = "error", error = word(&e));
            return Ok(());
        }
    };
    match store::apply(command)? {
        Ok(outcome) => {
            println!("frontend: {line:?}: {outcome:?}");
            let (kind, value) = match outcome {
                Outcome::Stored(old) => ("stored", old.unwrap_or_else(|| "none".into())),
                Outcome::Value(v) => ("value", v),
                Outcome::Stats(s) => ("stats", format!("keys:{},bytes:{}", s.keys, s.bytes)),
            };
            let _ = tessera_sdk::app!(step = step, ok = kind, value = value.replace(' ', "_"));
        }
        Err(e) => {
            println!("frontend: {line:?}: store error {e:?}");
            let _ = tessera_sdk::app!(step = step, store = "error", error = word(&e));
        }
    }
    Ok(())
}

/// An error's variant name, as one word for an `@@APP` value.
fn word(e: &impl core::fmt::Debug) -> String {
    let text = format!("{e:?}");
    let end = text.find([' ', '(', '{']).unwrap_or(text.len());
    text[..end].into()
}
