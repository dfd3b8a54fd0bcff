//! Naming code in a compartment image: the function (from the ELF symbol table,
//! demangled) that holds an address given relative to the image base.
//!
//! Compartments are static PIEs linked at address 0 and loaded at their region's base
//! (`@@LOAD base=`), so an offset from the base (`@@FAULT offset=`, `@@REJECT offset=`)
//! is exactly the address the symbol table uses. This runs on the host, outside the
//! hypervisor: L1 prints numbers, tools print names. Used by the build-time `VMFUNC`
//! check ([`crate::vmfunc_check`]) and the runner's fault report ([`crate::faults`]).

use anyhow::{Context, Result};
use goblin::elf::Elf;
use goblin::elf::program_header::{PF_X, PT_LOAD};
use goblin::elf::sym::STT_FUNC;
use std::fmt;
use std::ops::Range;
use std::path::Path;

/// One function symbol.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Function {
    start: u64,
    size: u64,
    /// Demangled, without the hash (`tessera_sdk::rt::start`).
    name: String,
}

/// Where an offset lies: a function and how far into it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub function: String,
    pub within: u64,
}

impl fmt::Display for Location {
    /// `crate::path::fn+0xOFF`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}+{:#x}", self.function, self.within)
    }
}

/// The function symbols of one image and its executable ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Symbols {
    functions: Vec<Function>,
    executable: Vec<Range<u64>>,
}

impl Symbols {
    /// Reads the symbol table of the ELF file at `path`.
    pub fn read(path: &Path) -> Result<Symbols> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        Symbols::parse(&bytes).with_context(|| format!("{} is no ELF file", path.display()))
    }

    /// The function symbols of an ELF image: `.symtab`, or `.dynsym` when the image was
    /// stripped of the former.
    pub fn parse(bytes: &[u8]) -> Result<Symbols> {
        let elf = Elf::parse(bytes)?;
        let mut functions = Vec::new();
        let tables = [(&elf.syms, &elf.strtab), (&elf.dynsyms, &elf.dynstrtab)];
        for (syms, strtab) in tables {
            for sym in syms.iter().filter(|s| s.st_type() == STT_FUNC) {
                let Some(name) = strtab.get_at(sym.st_name).filter(|n| !n.is_empty()) else {
                    continue;
                };
                functions.push(Function {
                    start: sym.st_value,
                    size: sym.st_size,
                    name: format!("{:#}", rustc_demangle::demangle(name)),
                });
            }
            if !functions.is_empty() {
                break;
            }
        }
        functions.sort_by_key(|f| f.start);
        let executable = elf
            .program_headers
            .iter()
            .filter(|ph| ph.p_type == PT_LOAD && ph.p_flags & PF_X != 0)
            .map(|ph| ph.p_vaddr..ph.p_vaddr.saturating_add(ph.p_memsz))
            .collect();
        Ok(Symbols {
            functions,
            executable,
        })
    }

    /// The function whose symbol covers `offset`, and the offset inside it. Without a
    /// covering symbol, the nearest function below, but only for an offset in executable
    /// memory (code the symbol table does not size, e.g. assembly); an offset in data or
    /// outside the image names no function.
    pub fn at(&self, offset: u64) -> Option<Location> {
        let below = self.functions.partition_point(|f| f.start <= offset);
        let candidates = &self.functions[..below];
        let covering = candidates
            .iter()
            .rev()
            .find(|f| offset < f.start.saturating_add(f.size.max(1)));
        let in_code = || self.executable.iter().any(|r| r.contains(&offset));
        let function = covering.or_else(|| candidates.last().filter(|_| in_code()))?;
        Some(Location {
            function: function.name.clone(),
            within: offset - function.start,
        })
    }
}

/// One frame of the chain of inlined functions at an address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Demangled.
    pub function: String,
    /// `FILE:LINE` as the line tables name it (absolute for the workspace's crates).
    pub location: String,
}

/// The chain of inlined functions at `offset` in the ELF file at `path`, innermost
/// first, from its line tables (release images have them: `debug = 1`), by binutils'
/// `addr2line -f -i -C` (binutils is required anyway, for objcopy). Empty when the image
/// has no line for it or addr2line cannot be run.
pub fn frames(path: &Path, offset: u64) -> Vec<Frame> {
    let output = std::process::Command::new("addr2line")
        .args(["-f", "-i", "-C", "-e"])
        .arg(path)
        .arg(format!("{offset:#x}"))
        .output();
    match output {
        Ok(out) if out.status.success() => parse_addr2line(&String::from_utf8_lossy(&out.stdout)),
        _ => Vec::new(),
    }
}

/// `addr2line -f -i` output: a function line, then its `FILE:LINE` line, per frame.
/// Frames without a known location (`??:0`, `??:?`) are left out; a discriminator note
/// is dropped.
pub fn parse_addr2line(text: &str) -> Vec<Frame> {
    let lines: Vec<&str> = text.lines().collect();
    lines
        .chunks_exact(2)
        .filter_map(|pair| {
            let location = pair[1].split(" (discriminator").next()?.trim();
            let unknown =
                location.starts_with("??") || location.ends_with(":0") || location.ends_with(":?");
            (!unknown).then(|| Frame {
                function: pair[0].trim().to_owned(),
                location: location.to_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello() -> Symbols {
        let path =
            crate::paths::workspace_root().join("hypervisor/core/tests/fixtures/elf/hello.elf");
        Symbols::read(&path).expect("hello.elf")
    }

    /// hello.elf (readelf -s): `_ZN4core3ops8function6FnOnce9call_once17h…E` at 0x2bc0,
    /// 139 bytes; code is the R E segment 0x2b80..0x5f7f; data from 0x6f80, bss from
    /// 0x8448.
    #[test]
    fn names_the_demangled_function_and_the_offset_inside_it() {
        let symbols = hello();
        let at = symbols.at(0x2bc0 + 0x4c).expect("in call_once");
        assert_eq!(at.function, "core::ops::function::FnOnce::call_once");
        assert_eq!(at.within, 0x4c);
        assert_eq!(
            at.to_string(),
            "core::ops::function::FnOnce::call_once+0x4c"
        );
        assert_eq!(symbols.at(0x2bc0).expect("first byte").within, 0);
        // v0-mangled names demangle too (the first FUNC symbol, 20 bytes at 0x2b80).
        let display = symbols.at(0x2b80).expect("String's Display").function;
        assert_eq!(
            display,
            "<alloc::string::String as core::fmt::Display>::fmt"
        );
    }

    /// Real output of `addr2line -f -i -C -e target/.../exit-five 0x1c40` (docs/debugging.md).
    #[test]
    fn addr2line_chains_parse_innermost_first() {
        let text = "core::ptr::read_volatile\n\
            /rustc/5980761/library/core/src/ptr/mod.rs:2091\n\
            exit_five::crash::body\n\
            /w/compartments/exit-five/src/main.rs:14 (discriminator 2)\n\
            exit_five::crash\n\
            /w/sdk/src/export.rs:174\n\
            ??\n\
            ??:0\n";
        let frames = parse_addr2line(text);
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[1].function, "exit_five::crash::body");
        assert_eq!(
            frames[1].location,
            "/w/compartments/exit-five/src/main.rs:14"
        );
        assert_eq!(parse_addr2line("??\n??:0\n"), []);
        // hello.elf was stripped of its line tables: no frames, no error.
        let path =
            crate::paths::workspace_root().join("hypervisor/core/tests/fixtures/elf/hello.elf");
        assert_eq!(super::frames(&path, 0x2bc0 + 0x4c), []);
    }

    #[test]
    fn data_and_addresses_outside_the_image_name_nothing() {
        let symbols = hello();
        // .rodata, .data and the bss, and past the image.
        for offset in [0x270, 0x6f80, 0x8448, 0x10_0000] {
            assert_eq!(symbols.at(offset), None, "{offset:#x}");
        }
        assert_eq!(Symbols::default().at(0x2bc0), None);
        assert!(Symbols::parse(b"not an ELF").is_err());
    }
}
