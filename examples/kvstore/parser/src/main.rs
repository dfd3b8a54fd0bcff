//! The parser: turns untrusted text into commands. It owns nothing worth stealing, so
//! a bug in it (the riskiest code of the app) cannot reach the store's data: the store
//! lives in another view, and the parser may call no one.
#![no_std]
#![no_main]

use kvstore_api::parser::Parser;
use kvstore_api::{Command, ParseError};
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

/// The parser's state: none.
#[derive(Default)]
struct LineParser;

impl Parser for LineParser {
    fn parse(&mut self, line: &str) -> Result<Command, ParseError> {
        let mut words = line.split_whitespace();
        let verb = words.next().ok_or(ParseError::Empty)?;
        let mut key = || words.next().map(String::from).ok_or(ParseError::MissingKey);
        let command = match verb {
            "put" => {
                let key = key()?;
                let value: Vec<&str> = words.collect();
                if value.is_empty() {
                    return Err(ParseError::MissingValue);
                }
                return Ok(Command::Put {
                    key,
                    value: value.join(" "),
                });
            }
            "get" => Command::Get { key: key()? },
            "delete" => Command::Delete { key: key()? },
            "stats" => Command::Stats,
            other => return Err(ParseError::UnknownVerb(other.into())),
        };
        match words.next() {
            None => Ok(command),
            Some(_) => Err(ParseError::TrailingWords),
        }
    }
}

tessera_sdk::serve!(kvstore_api::parser, LineParser);

fn main() {
    println!("parser: ready");
}
