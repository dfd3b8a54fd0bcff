//! Links the kernel at its fixed physical address with our linker script.
//!
//! x86_64-unknown-none produces static PIEs by default; a multiboot kernel is loaded
//! at the address its header names and nobody applies relocations, so it is linked as
//! a plain static executable (`--no-pie`). The code itself stays position-independent.
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target == "x86_64-unknown-none" {
        println!("cargo:rustc-link-arg-bins=-T{dir}/linker.ld");
        println!("cargo:rustc-link-arg-bins=--no-pie");
        println!("cargo:rustc-link-arg-bins=-zmax-page-size=0x1000");
    }
    println!("cargo:rerun-if-changed=linker.ld");
    println!("cargo:rerun-if-changed=build.rs");
}
