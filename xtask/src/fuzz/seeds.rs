//! Seed corpora, from the repo's own data, written to `target/fuzz/seeds/TARGET/` before
//! every run (libFuzzer adds what it finds to `target/fuzz/corpus/TARGET/`):
//!
//! - `image`: the real compartment images of `hypervisor/core/tests/fixtures/elf/`, and
//!   every compartment image already built under `target/x86_64-unknown-none/release/`
//!   (stripped with `objcopy --strip-all`, which keeps everything the loader reads);
//! - `manifest`: the manifest of every declaration in `examples/` and
//!   `compartments/scenarios/`, as xtask writes it for a boot;
//! - `ud_decode`: the instructions the emulation path meets (VMFUNC and VMCALL with and
//!   without prefixes, CPUID, and near misses);
//! - `multiboot`: information blocks laid out as QEMU's `-kernel` loader and GRUB lay
//!   them out (the layouts of core's multiboot tests: memory map, modules with command
//!   lines, kernel command line, loader name);
//! - `console`: what a compartment may write to forge a line (the forgeries of
//!   `compartments/attack-console-forge`: CR, ESC sequences, backspaces, C1 controls,
//!   U+2028/U+2029, bidi overrides, invalid UTF-8, escape-like text), ordinary text and a
//!   line longer than the line limit, each behind the target's two header bytes (budget,
//!   piece size).

use crate::declaration::{self, Declaration, Kind};
use crate::examples::available;
use crate::paths;
use anyhow::{Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Writes the seeds of `target`; returns their directory and how many there are.
pub fn write(target: &str) -> Result<(PathBuf, usize)> {
    let dir = super::fuzz_dir().join("seeds").join(target);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let seeds = match target {
        "image" => images(&dir)?,
        "manifest" => manifests()?,
        "ud_decode" => instructions(),
        "console" => console_text(),
        "multiboot" => vec![
            ("qemu-kernel".into(), multiboot(&QEMU)),
            ("grub".into(), multiboot(&GRUB)),
        ],
        _ => Vec::new(),
    };
    for (name, bytes) in &seeds {
        fs::write(dir.join(name), bytes)?;
    }
    let count = fs::read_dir(&dir)?.count();
    Ok((dir, count))
}

/// Real images: the fixtures, and stripped copies of compartments already built.
fn images(dir: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let fixtures = paths::workspace_root().join("hypervisor/core/tests/fixtures/elf");
    let mut seeds = Vec::new();
    for name in ["hello.elf", "attack-write-gate.elf"] {
        seeds.push((name.to_owned(), fs::read(fixtures.join(name))?));
    }
    let built = paths::target_dir().join("x86_64-unknown-none/release");
    for name in compartment_packages() {
        let elf = built.join(&name);
        if !elf.is_file() {
            continue;
        }
        // objcopy writes the stripped copy straight into the seed directory.
        let out = dir.join(format!("{name}.elf"));
        let ok = Command::new("objcopy")
            .arg("--strip-all")
            .arg(&elf)
            .arg(&out)
            .status()
            .is_ok_and(|s| s.success());
        if ok && fs::metadata(&out).is_ok_and(|m| m.len() > 64 * 1024) {
            let _ = fs::remove_file(&out);
        }
    }
    Ok(seeds)
}

/// The packages under compartments/ and examples/ (one or two levels down; their
/// binaries are named like them).
fn compartment_packages() -> Vec<String> {
    let root = paths::workspace_root();
    let subdirs = |dir: &Path| -> Vec<PathBuf> {
        fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect()
    };
    let mut out = Vec::new();
    for base in ["compartments", "examples"] {
        for dir in subdirs(&root.join(base)) {
            for crate_dir in std::iter::once(dir.clone()).chain(subdirs(&dir)) {
                let name = fs::read_to_string(crate_dir.join("Cargo.toml"))
                    .ok()
                    .and_then(|text| toml::from_str::<toml::Table>(&text).ok())
                    .and_then(|t| t.get("package")?.get("name")?.as_str().map(str::to_owned));
                out.extend(name);
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The manifest of every declaration in the tree.
fn manifests() -> Result<Vec<(String, Vec<u8>)>> {
    let mut seeds = Vec::new();
    let dirs = [
        (paths::examples_dir(), true, ""),
        (paths::scenarios_dir(), false, ""),
        (paths::smp_dir(), false, "smp-"),
    ];
    for (dir, example, prefix) in dirs {
        for name in available(&dir) {
            let file = dir.join(&name).join(declaration::FILE_NAME);
            if !file.is_file() {
                continue;
            }
            let kind = if example {
                Kind::Example(name.clone())
            } else {
                Kind::Scenario(format!("{prefix}{name}"))
            };
            let d = Declaration::load(&file, &file.display().to_string(), kind)?;
            seeds.push((
                format!("{}.manifest", d.kind.label()),
                d.manifest_text().into_bytes(),
            ));
        }
    }
    Ok(seeds)
}

/// Instruction bytes at a guest RIP.
fn instructions() -> Vec<(String, Vec<u8>)> {
    let cases: [(&str, &[u8]); 15] = [
        ("vmfunc", &[0x0F, 0x01, 0xD4]),
        ("vmfunc-rex", &[0x48, 0x0F, 0x01, 0xD4]),
        ("vmfunc-segment-67", &[0x2E, 0x67, 0x0F, 0x01, 0xD4]),
        ("vmfunc-66", &[0x66, 0x0F, 0x01, 0xD4]),
        ("vmfunc-14-prefixes", &[0x3E; 15]),
        ("vmcall", &[0x0F, 0x01, 0xC1, 0x90]),
        ("cpuid", &[0x0F, 0xA2]),
        ("cpuid-rex", &[0x41, 0x0F, 0xA2]),
        ("ud2", &[0x0F, 0x0B]),
        ("near-miss", &[0x0F, 0x01, 0xD5, 0x0F, 0x01]),
        (
            "vmfunc-12-prefixes",
            &[
                0x2E, 0x2E, 0x2E, 0x2E, 0x2E, 0x2E, 0x2E, 0x2E, 0x2E, 0x2E, 0x2E, 0x48, 0x0F, 0x01,
                0xD4,
            ],
        ),
        ("vmfunc-lock", &[0xF0, 0x0F, 0x01, 0xD4]),
        ("icebp-prefixed", &[0x2E, 0x66, 0xF1]),
        ("int-prefixed", &[0x66, 0xCD, 0x21]),
        ("vmfunc-rex-then-segment", &[0x4F, 0x65, 0x0F, 0x01, 0xD4]),
    ];
    cases
        .iter()
        .map(|(name, bytes)| ((*name).to_owned(), bytes.to_vec()))
        .collect()
}

/// A multiboot layout: where the seed's RAM starts, and what goes in it.
struct Layout {
    flags: u32,
    mem: (u32, u32),
    cmdline: &'static str,
    modules: &'static [(u32, u32, &'static str)],
    mmap: &'static [(u64, u64, u32)],
    loader: &'static str,
}

/// QEMU 7.2 `-kernel` with two modules (`-initrd "a,b"`), 256 MiB.
const QEMU: Layout = Layout {
    flags: 1 | 1 << 1 | 1 << 2 | 1 << 3 | 1 << 6 | 1 << 9,
    mem: (639, 261_056),
    cmdline: "/work/target/tessera/tessera.elf32 switch=emulate",
    modules: &[
        (0x0010_7000, 0x0010_9321, "vault.elf vault"),
        (0x0010_a000, 0x0010_b000, "manifest"),
    ],
    mmap: &[
        (0, 0x9_fc00, 1),
        (0x9_fc00, 0x400, 2),
        (0xf_0000, 0x1_0000, 2),
        (0x10_0000, 0x0fee_0000, 1),
        (0x0ffe_0000, 0x2_0000, 2),
        (0xfffc_0000, 0x4_0000, 2),
    ],
    loader: "qemu",
};

/// GRUB 2 `multiboot` + `module` lines from an ISO (Bochs), 256 MiB.
const GRUB: Layout = Layout {
    flags: 1 | 1 << 1 | 1 << 2 | 1 << 3 | 1 << 6 | 1 << 9,
    mem: (639, 261_120),
    cmdline: "/boot/tessera.elf32",
    modules: &[
        (0x0090_1000, 0x0093_4a20, "/boot/m0.elf victim"),
        (
            0x0093_5000,
            0x0096_2b10,
            "/boot/m1.elf attack-vmfunc-victim expect=reject:vmfunc-bytes",
        ),
        (0x0096_3000, 0x0096_3200, "/boot/manifest manifest"),
    ],
    mmap: &[
        (0, 0x9_f000, 1),
        (0x9_f000, 0x1000, 2),
        (0xe_8000, 0x1_8000, 2),
        (0x10_0000, 0x0fef_0000, 1),
        (0x0fff_0000, 0x1_0000, 3),
        (0xfffc_0000, 0x4_0000, 2),
    ],
    loader: "GRUB 2.06-13+deb12u1",
};

/// The fuzz input for `layout`: magic, info address, then RAM from 0x8000 (the harness's
/// `RAM_BASE`): info block at 0x9500, command line 0xA000, modules 0xB000, memory map
/// 0xC000, loader name 0xD000, module strings from 0xE000.
fn multiboot(layout: &Layout) -> Vec<u8> {
    const BASE: u32 = 0x8000;
    const INFO: u32 = 0x9500;
    let mut ram = vec![0u8; 0x8000];
    let mut put = |addr: u32, data: &[u8]| {
        let at = (addr - BASE) as usize;
        ram[at..at + data.len()].copy_from_slice(data);
    };
    put(INFO, &layout.flags.to_le_bytes());
    put(INFO + 4, &layout.mem.0.to_le_bytes());
    put(INFO + 8, &layout.mem.1.to_le_bytes());
    put(INFO + 12, &0x8000_ffffu32.to_le_bytes());
    put(INFO + 16, &0xA000u32.to_le_bytes());
    put(0xA000, format!("{}\0", layout.cmdline).as_bytes());
    put(INFO + 20, &(layout.modules.len() as u32).to_le_bytes());
    put(INFO + 24, &0xB000u32.to_le_bytes());
    for (i, (start, end, line)) in layout.modules.iter().enumerate() {
        let entry = 0xB000 + 16 * i as u32;
        let string = 0xE000 + 0x100 * i as u32;
        put(entry, &start.to_le_bytes());
        put(entry + 4, &end.to_le_bytes());
        put(entry + 8, &string.to_le_bytes());
        put(string, format!("{line}\0").as_bytes());
    }
    let mut at = 0xC000u32;
    for (base, len, kind) in layout.mmap {
        put(at, &20u32.to_le_bytes());
        put(at + 4, &base.to_le_bytes());
        put(at + 12, &len.to_le_bytes());
        put(at + 20, &kind.to_le_bytes());
        at += 24;
    }
    put(INFO + 44, &(at - 0xC000).to_le_bytes());
    put(INFO + 48, &0xC000u32.to_le_bytes());
    put(INFO + 64, &0xD000u32.to_le_bytes());
    put(0xD000, format!("{}\0", layout.loader).as_bytes());
    let mut seed = Vec::with_capacity(8 + ram.len());
    seed.extend_from_slice(&tessera_core::multiboot::BOOTLOADER_MAGIC.to_le_bytes());
    seed.extend_from_slice(&INFO.to_le_bytes());
    seed.extend_from_slice(&ram);
    seed
}

/// Console output seeds: byte 0 picks the budget (`1 << b`, unlimited from 40), byte 1 the
/// size of the pieces the rest is written in (`8 * b`), as `fuzz_targets/console.rs`
/// reads them.
fn console_text() -> Vec<(String, Vec<u8>)> {
    let forgeries: [&[u8]; 12] = [
        b"hello, world\n",
        b"cr\r@@RESULT pass\n",
        b"erase\x1b[2K\x1b[1G@@RESULT pass\n",
        b"\x08\x08\x08\x08\x08\x08@@RESULT pass\n",
        "nel\u{85}@@RESULT pass\n".as_bytes(),
        "csi\u{9b}2K@@RESULT pass\n".as_bytes(),
        b"latin1-nel\x85@@RESULT pass\n",
        "ls\u{2028}@@FAULT compartment=victim\u{2029}\n".as_bytes(),
        "rlo\u{202e}ssap TLUSER@@\n".as_bytes(),
        b"broken\xe2\x80 \xff\xfe \xc0\xaf \xed\xa0\x80\n",
        b"escape-text \\x1b\\u{85}\n",
        "caf\u{e9} \u{2192} \u{65e5}\u{672c}\n".as_bytes(),
    ];
    let mut seeds: Vec<(String, Vec<u8>)> = forgeries
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let mut bytes = vec![40, 1];
            bytes.extend_from_slice(text);
            (format!("line-{i}"), bytes)
        })
        .collect();
    // Everything at once in small pieces with a budget that runs out partway.
    let mut all = vec![8, 1];
    all.extend(forgeries.concat());
    seeds.push(("all-small-budget".into(), all));
    // A line past the line limit, with a character across the break.
    let mut long = vec![40, 16];
    long.extend(std::iter::repeat_n(b'x', 1023));
    long.extend("\u{e9}\n".as_bytes());
    seeds.push(("long-line".into(), long));
    seeds
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::multiboot::{BootInfo, PhysMem};

    struct Ram<'a>(&'a [u8]);
    impl PhysMem for Ram<'_> {
        fn read(&self, addr: u64, len: usize) -> Option<&[u8]> {
            let off = usize::try_from(addr.checked_sub(0x8000)?).ok()?;
            self.0.get(off..off.checked_add(len)?)
        }
    }

    #[test]
    fn multiboot_seeds_parse_as_the_harness_reads_them() {
        for layout in [&QEMU, &GRUB] {
            let seed = multiboot(layout);
            let magic = u32::from_le_bytes(seed[..4].try_into().unwrap());
            let info = u32::from_le_bytes(seed[4..8].try_into().unwrap());
            let boot = BootInfo::parse(magic, info, &Ram(&seed[8..])).expect("seed parses");
            assert_eq!(boot.modules.len(), layout.modules.len());
            assert_eq!(boot.memory_map.len(), layout.mmap.len());
            assert_eq!(boot.cmdline.as_deref(), Some(layout.cmdline));
            assert_eq!(boot.bootloader.as_deref(), Some(layout.loader));
        }
    }

    #[test]
    fn image_seeds_come_from_the_compartment_packages() {
        let packages = compartment_packages();
        for expected in [
            "hello",
            "victim",
            "vault-vault",
            "conformance",
            "attack-huge-image",
        ] {
            assert!(
                packages.iter().any(|p| p == expected),
                "{expected}: {packages:?}"
            );
        }
    }

    #[test]
    fn manifest_seeds_parse() {
        let seeds = manifests().unwrap();
        assert!(seeds.len() >= 10, "{} manifests", seeds.len());
        for (name, text) in seeds {
            let text = String::from_utf8(text).unwrap();
            tessera_core::manifest::Manifest::parse(&text)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn console_seeds_carry_the_header_and_the_forgeries() {
        let seeds = console_text();
        assert!(seeds.len() > 10);
        for (name, bytes) in &seeds {
            assert!(bytes.len() > 2 && bytes[1] >= 1, "{name}");
        }
        assert!(seeds.iter().any(|(_, b)| b.contains(&0x1b)));
        assert!(seeds.iter().any(|(_, b)| b.len() > 1026));
    }
}
