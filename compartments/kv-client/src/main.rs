//! The key-value store's client: sends its commands through grant `kv`, one of them the
//! exploit (`raw 0x8`, which makes the store write to an address outside its memory).
//! Checks every reply: the exploit's call comes back `CalleeFailed`, the store is
//! restarted (an empty store: `get a` is `missing`) and serves every command after it.
//! Exits 0 if every reply was as expected.
#![no_std]
#![no_main]

use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

tessera_sdk::import! {
    kv_store = "kv-store" {
        fn exec(len: u64) -> u64;
    }
}

const REPLY: usize = 2048;

/// Each command and the reply it must get (`None`: the call fails, `CalleeFailed`).
const SESSION: [(&str, Option<&str>); 8] = [
    ("set a 1", Some("ok")),
    ("get a", Some("1")),
    ("raw 0x8", None),
    ("get a", Some("missing")),
    ("set b 2", Some("ok")),
    ("get b", Some("2")),
    ("set c 3", Some("ok")),
    ("count", Some("2")),
];

fn main() -> i32 {
    let Ok(mut kv) = grant("kv") else {
        println!("kv-client: no grant 'kv'");
        return 1;
    };
    let mut wrong = 0;
    let mut after = 0;
    for (n, (command, want)) in SESSION.iter().enumerate() {
        let got = exec(&mut kv, command);
        let shown = match &got {
            Ok(reply) => reply.clone(),
            Err(e) => format!("error: {e}"),
        };
        println!("KV n={} command={command:?} reply={shown:?}", n + 1);
        let ok = match (want, &got) {
            (Some(want), Ok(reply)) => reply == want,
            (None, Err(CallError::CalleeFailed)) => true,
            _ => false,
        };
        if !ok {
            println!("kv-client: command {} expected {want:?}", n + 1);
            wrong += 1;
        } else if n > 2 {
            after += 1;
        }
    }
    println!("kv-client: {after} commands served after the exploit, {wrong} wrong");
    i32::from(wrong != 0)
}

fn exec(kv: &mut Grant, command: &str) -> Result<String, CallError> {
    {
        let Some(mut buf) = kv.bytes_mut() else {
            return Ok("grant not writable".into());
        };
        buf[..command.len()].copy_from_slice(command.as_bytes());
    }
    let n = kv_store::exec(command.len() as u64)? as usize;
    Ok(String::from_utf8_lossy(&kv.bytes()[REPLY..REPLY + n]).into_owned())
}
