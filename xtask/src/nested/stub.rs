//! The multiboot → PVH stub (`guest/pvh.S`): its memory layout, assembled with binutils
//! (`as --32`, `ld --oformat binary`) at [`BASE`], and the kernel's entry patched in.
//!
//! The layout constants live here and reach the assembly as `--defsym` symbols, so the
//! ELF writer ([`super::bootimage`]) and the stub agree on them by construction.

use anyhow::{Context, Result, bail};
use std::fs;
use std::path::Path;
use std::process::Command;

/// The stub's source, part of the guest image's cache key.
pub const SOURCE: &str = include_str!("guest/pvh.S");
/// Where the stub runs: 8 MiB, clear of GRUB's low memory and below the kernel (16 MiB).
pub const BASE: u32 = 0x80_0000;
/// Memory the stub owns from [`BASE`]: code, then its data pages, then its stack.
pub const MEMSZ: u32 = 0x8000;
/// Offset of the `pvh_entry` field xtask patches, right after the multiboot header.
pub const ENTRY_FIELD: usize = 12;
/// Offset of `_start`, the ELF entry point.
pub const START: u32 = 16;

/// `--defsym` symbols of the assembly: where `hvm_start_info`, the module list, the
/// command line and the memory map are built, and the stack.
pub fn symbols() -> Vec<(&'static str, u32)> {
    vec![
        ("STUB_BASE", BASE),
        ("START_INFO", BASE + 0x1000),
        ("MODLIST", BASE + 0x1100),
        ("CMDLINE", BASE + 0x1200),
        ("CMDLINE_MAX", 0xE00),
        ("MEMMAP", BASE + 0x2000),
        ("MEMMAP_MAX", 128),
        ("STACK_TOP", BASE + MEMSZ),
    ]
}

/// Assembles the stub in `work` and returns its flat binary, checked: multiboot header
/// first, `cli` at [`START`], code below the first data page.
pub fn assemble(work: &Path) -> Result<Vec<u8>> {
    fs::create_dir_all(work).with_context(|| format!("creating {}", work.display()))?;
    let source = work.join("pvh.S");
    fs::write(&source, SOURCE)?;
    let object = work.join("pvh.o");
    let binary = work.join("pvh.bin");
    let mut assembler = Command::new("as");
    assembler.arg("--32");
    for (name, value) in symbols() {
        assembler.arg("--defsym").arg(format!("{name}={value:#x}"));
    }
    binutils(assembler.arg("-o").arg(&object).arg(&source), "as --32")?;
    let mut linker = Command::new("ld");
    linker
        .args(["-m", "elf_i386", "-e", "_start", "--oformat", "binary"])
        .arg(format!("-Ttext={BASE:#x}"))
        .arg("-o")
        .arg(&binary)
        .arg(&object);
    binutils(&mut linker, "ld -m elf_i386")?;
    let bytes = fs::read(&binary)?;
    check(&bytes)?;
    Ok(bytes)
}

/// Runs one binutils command; its stderr is the error if it fails.
fn binutils(command: &mut Command, what: &str) -> Result<()> {
    let output = command
        .output()
        .with_context(|| format!("running {what} (package binutils)"))?;
    if !output.status.success() {
        bail!(
            "{what} failed on the PVH stub ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// What the ELF writer relies on in the assembled stub.
pub fn check(stub: &[u8]) -> Result<()> {
    if crate::kernel::multiboot_header_offset(stub) != Some(0) {
        bail!("the PVH stub does not start with its multiboot header");
    }
    if stub.get(START as usize) != Some(&0xFA) {
        bail!("the PVH stub's _start (cli) is not at offset {START}");
    }
    if stub.len() > 0x1000 {
        bail!("the PVH stub ({} bytes) overlaps its data page", stub.len());
    }
    Ok(())
}

/// The stub with the kernel's PVH entry written into its `pvh_entry` field.
pub fn patched(stub: &[u8], entry: u32) -> Vec<u8> {
    let mut out = stub.to_vec();
    out[ENTRY_FIELD..ENTRY_FIELD + 4].copy_from_slice(&entry.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_fits_in_the_stubs_memory() {
        let s: std::collections::HashMap<_, _> = symbols().into_iter().collect();
        assert!(
            s["MODLIST"] >= s["START_INFO"] + 56,
            "start_info is 56 bytes"
        );
        assert!(s["CMDLINE"] >= s["MODLIST"] + 32);
        assert!(s["CMDLINE"] + s["CMDLINE_MAX"] <= s["MEMMAP"]);
        assert!(s["MEMMAP"] + 24 * s["MEMMAP_MAX"] <= s["STACK_TOP"] - 0x1000);
        assert_eq!(s["STACK_TOP"], BASE + MEMSZ);
    }

    /// Assembles the real stub (binutils is a host requirement of every engine).
    #[test]
    fn the_stub_assembles_and_takes_its_entry() {
        let dir = std::env::temp_dir().join(format!("xtask-stub-{}", std::process::id()));
        let stub = assemble(&dir).expect("assembling guest/pvh.S");
        let patched = patched(&stub, 0x0100_0abc);
        assert_eq!(&patched[12..16], &0x0100_0abcu32.to_le_bytes());
        assert_eq!(patched.len(), stub.len());
        assert!(check(b"not a stub").is_err());
        let _ = fs::remove_dir_all(dir);
    }
}
