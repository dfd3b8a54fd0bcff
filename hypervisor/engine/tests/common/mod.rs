//! Real compartment images (core's ELF fixtures) and fake worlds built from them.
#![allow(dead_code)]

pub mod pair;
pub mod script;

use tessera_engine::fake;

/// `examples/hello` as the SDK builds it (hypervisor/core/tests/fixtures/elf/README.md).
pub fn hello() -> &'static [u8] {
    fixture("hello.elf")
}

/// `examples/pingpong/pong`: one export, `pong`, at image offset [`PONG`] (the same README).
pub fn pong() -> &'static [u8] {
    fixture("pong.elf")
}

/// Where `pong.elf`'s export `pong` is, from the image base.
pub const PONG: u64 = 0x2630;

/// An image whose code holds `0F 01 D4` (the same README).
pub fn vmfunc_bytes() -> &'static [u8] {
    fixture("attack-write-gate.elf")
}

fn fixture(name: &str) -> &'static [u8] {
    let path = format!(
        "{}/../core/tests/fixtures/elf/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    fake::module(&bytes)
}

/// A manifest module's bytes.
pub fn manifest(text: &str) -> &'static [u8] {
    fake::module(text.as_bytes())
}

/// Memory for a few views.
pub const MEMORY: u64 = 32 << 20;
