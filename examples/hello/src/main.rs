//! The smallest useful compartment: print, use the heap once, exit 0.
#![no_std]
#![no_main]

use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

fn main() -> i32 {
    println!("Hello from compartment hello!");
    let greeting: String = format!("{} + {} = {} (formatted on the heap)", 2, 2, 2 + 2);
    println!("{greeting}");
    0
}
