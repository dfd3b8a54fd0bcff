//! The key-value store's interfaces, declared once for both sides: the parser's and the
//! store's compartments implement the traits (`Parser`, `Store`) and export them with
//! `tessera_sdk::serve!`; the frontend calls the stubs (`parser::parse`, `store::get`,
//! ...). A change here that one side does not follow does not compile.
#![no_std]

extern crate alloc;

use alloc::string::String;
use serde::{Deserialize, Serialize};

/// Longest key the store accepts, in bytes.
pub const MAX_KEY: usize = 32;
/// Most keys the store holds.
pub const CAPACITY: usize = 16;

/// A command, as the parser makes it from a line of text.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Put { key: String, value: String },
    Get { key: String },
    Delete { key: String },
    Stats,
}

/// Why a line is not a command.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    Empty,
    UnknownVerb(String),
    MissingKey,
    MissingValue,
    TrailingWords,
}

/// Why the store could not do it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    NotFound,
    KeyTooLong { max: u32 },
    Full { capacity: u32 },
}

/// What the store has done so far (a plain struct across the gate).
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    pub keys: u32,
    pub bytes: u64,
    pub puts: u64,
    pub gets: u64,
    pub misses: u64,
}

/// What applying a command gave.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A put: the value it replaced, if any.
    Stored(Option<String>),
    /// A get or a delete: the value.
    Value(String),
    Stats(Stats),
}

tessera_sdk::interface! {
    /// Untrusted text → commands.
    pub mod parser: Parser = "parser" {
        /// Parses one line: `put KEY VALUE...`, `get KEY`, `delete KEY` or `stats`.
        fn parse(line: &str) -> Result<Command, ParseError>;
    }

    /// The key-value store.
    pub mod store: Store = "store" {
        /// Sets `key` to `value`; returns the value it replaced.
        fn put(key: &str, value: &str) -> Result<Option<String>, StoreError>;
        fn get(key: &str) -> Result<String, StoreError>;
        /// Removes `key`; returns its value.
        fn delete(key: &str) -> Result<String, StoreError>;
        /// Applies a parsed command (an enum by value across the gate).
        fn apply(command: Command) -> Result<Outcome, StoreError>;
        fn stats() -> Stats;
    }
}
