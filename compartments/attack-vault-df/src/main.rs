//! Attack on the vault example (DESIGN §6 property 7): the vault copies the message out
//! of the shared grant with the compiler's `memcpy` (`rep movs`). A caller that executes
//! `STD` before the call used to make that copy run backwards over the vault's own stack
//! with bytes it chose — enough to crash the vault or hijack it. Here the call is made
//! with DF (and AC) set: the vault must sign correctly, and keep serving (the auditor
//! runs afterwards).
#![no_std]
#![no_main]

use attack_kit::{Dirt, Regs, call_at_dirty, not_contained};
use tessera_sdk::abi::gate;
use tessera_sdk::gate::lookup;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");
const MESSAGE: &[u8] = b"attack at dawn";
/// The MAC of MESSAGE under the vault's demo key (tests/tests/gates.rs CLIENT_MACS[0]).
const MAC: &str = "8a308287ca215f32b139ca2503adaa8606e8f644ce6b8f57192e8eaf077bcf24";
const MAC_AT: usize = 2048;

fn main() -> i32 {
    let Ok(mut msg) = grant("msg") else {
        println!("{NAME}: no grant 'msg'");
        return 1;
    };
    match msg.bytes_mut() {
        Some(mut buf) => buf[..MESSAGE.len()].copy_from_slice(MESSAGE),
        None => return 1,
    }
    let Ok(sign) = lookup("vault", "sign") else {
        println!("{NAME}: no vault.sign");
        return 1;
    };
    let regs = Regs {
        rax: sign.index.into(),
        r11: sign.view.into(),
        rdi: 0,
        rsi: MESSAGE.len() as u64,
        rdx: MAC_AT as u64,
        ..Regs::default()
    };
    let dirt = Dirt {
        rflags: 0x202 | (1 << 10) | (1 << 18),
        ..Dirt::default()
    };
    println!("{NAME}: calling vault.sign with DF=1 and AC=1");
    // SAFETY: a well-formed call through the gate's entry; the flags are the attack.
    let (rax, rdx) = unsafe { call_at_dirty(gate::CODE + gate::entry::CALL, regs, dirt) };
    if rdx != gate::status::OK || rax != 32 {
        return not_contained(
            NAME,
            format_args!("vault.sign -> rax={rax:#x} status={rdx}"),
        );
    }
    let bytes = msg.bytes();
    let mut hex = String::new();
    for b in &bytes[MAC_AT..MAC_AT + 32] {
        hex.push_str(&format!("{b:02x}"));
    }
    drop(bytes);
    if hex != MAC {
        return not_contained(NAME, format_args!("the vault signed wrongly: {hex}"));
    }
    println!("SIGNED by={NAME} mac={hex}: the vault copied forwards");
    0
}
