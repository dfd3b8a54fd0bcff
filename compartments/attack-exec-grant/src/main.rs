//! Attack (DESIGN §6, property 1): copies a `ret` into the shared grant `shared` (granted
//! rw) and calls it. Grants are never executable: `@@FAULT kind=memory access=execute
//! allowed=rw-` at the grant's address.
#![no_std]
#![no_main]

use core::mem;

use attack_kit::not_contained;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");

fn main() -> i32 {
    let mut shared = match grant("shared") {
        Ok(g) => g,
        Err(e) => {
            println!("{NAME}: no grant 'shared': {e}");
            return 2;
        }
    };
    let Some(mut bytes) = shared.bytes_mut() else {
        println!("{NAME}: grant 'shared' is not writable");
        return 2;
    };
    bytes[0] = 0xC3; // ret
    drop(bytes);
    let addr = shared.addr();
    println!("{NAME}: calling the `ret` I wrote into grant 'shared' at {addr:#x}");
    // SAFETY: deliberately malicious (property 1): the grant is mapped RW- (never X), so
    // the hypervisor must stop this compartment at the fetch. Should it run, it is a
    // single `ret`, a valid `extern "C" fn()`.
    let code: extern "C" fn() = unsafe { mem::transmute::<usize, extern "C" fn()>(addr as usize) };
    code();
    not_contained(
        NAME,
        format_args!("executed code in grant 'shared' at {addr:#x}"),
    )
}
