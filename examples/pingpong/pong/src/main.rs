//! The callee of the round-trip demo: one export, `pong(x) = x + 1`, from the interface
//! in examples/pingpong/api.
#![no_std]
#![no_main]

use pingpong_api::pong::Pong;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

/// The server: no state.
#[derive(Default)]
struct Server;

impl Pong for Server {
    fn pong(&mut self, x: u64) -> u64 {
        x.wrapping_add(1)
    }
}

tessera_sdk::serve!(pingpong_api::pong, Server);

fn main() -> i32 {
    println!("pong: ready");
    0
}
