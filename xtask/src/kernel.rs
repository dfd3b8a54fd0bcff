//! Building for the bare-metal target: the kernel, converted for the multiboot loaders,
//! and compartment packages, each image checked for rogue `VMFUNC` bytes
//! ([`crate::vmfunc_check`]).
//!
//! The kernel is built in its own cargo invocation (never together with host crates or
//! compartments: cargo would unify features across them), then converted to ELF32
//! because QEMU's multiboot loader refuses ELF64. Boots with `conformance=1` get the
//! test kernel with the conformance fixture instead ([`Flavour`]), built apart.

use crate::paths;
use crate::vmfunc_check::{self, Allowance};
use anyhow::{Context, Result, bail};
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

/// The bare-metal target.
pub const TARGET: &str = "x86_64-unknown-none";
/// The kernel's package and binary name.
pub const PACKAGE: &str = "tessera-kernel";
/// Multiboot v1 header magic.
pub const MULTIBOOT_MAGIC: u32 = 0x1BAD_B002;
/// A multiboot v1 header must lie in the first 8 KiB of the file, 4-byte aligned.
pub const MULTIBOOT_SEARCH: usize = 8192;

/// The built kernel: the cargo output and the ELF32 the loaders boot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kernel {
    pub elf64: PathBuf,
    pub elf32: PathBuf,
}

/// Which kernel a boot runs: the hypervisor, or the test kernel with the VMFUNC
/// conformance fixture compiled in (cargo feature `fixture`, docs/conformance.md), the
/// only one that accepts `conformance=1`. Each is built on its own: the fixture kernel in
/// its own target directory, so neither build ever overwrites the other's binary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Flavour {
    Hypervisor,
    Fixture,
}

impl Flavour {
    /// The kernel a boot with the kernel arguments `args` needs: the fixture kernel for
    /// `conformance=1`, the hypervisor otherwise.
    pub fn for_args(args: &str) -> Flavour {
        if args.split_whitespace().any(|word| word == "conformance=1") {
            Flavour::Fixture
        } else {
            Flavour::Hypervisor
        }
    }

    /// Cargo's target directory for this kernel.
    fn target_dir(self) -> PathBuf {
        match self {
            Flavour::Hypervisor => paths::target_dir(),
            Flavour::Fixture => paths::target_dir().join("fixture"),
        }
    }

    /// Where its ELF32 goes.
    fn elf32(self) -> PathBuf {
        paths::tessera_dir().join(match self {
            Flavour::Hypervisor => "tessera.elf32",
            Flavour::Fixture => "tessera-fixture.elf32",
        })
    }
}

/// `cargo build --release -p tessera-kernel --target x86_64-unknown-none`, then
/// `objcopy -O elf32-i386` to `target/tessera/tessera.elf32`.
pub fn build() -> Result<Kernel> {
    build_flavour(Flavour::Hypervisor)
}

/// The kernel with the conformance fixture: the same build with `--features fixture`
/// and `--target-dir target/fixture`, converted to `target/tessera/tessera-fixture.elf32`.
pub fn build_fixture() -> Result<Kernel> {
    build_flavour(Flavour::Fixture)
}

/// The kernel a boot with kernel arguments `args` needs ([`Flavour::for_args`]).
pub fn build_for(args: &str) -> Result<Kernel> {
    build_flavour(Flavour::for_args(args))
}

/// Kernels built on demand, each at most once: for a set of boots that need either.
#[derive(Debug, Default)]
pub struct Kernels {
    built: HashMap<Flavour, Kernel>,
}

impl Kernels {
    /// The kernel a boot with kernel arguments `args` needs, built the first time.
    pub fn for_args(&mut self, args: &str) -> Result<&Kernel> {
        let flavour = Flavour::for_args(args);
        Ok(match self.built.entry(flavour) {
            Entry::Occupied(built) => built.into_mut(),
            Entry::Vacant(slot) => slot.insert(build_flavour(flavour)?),
        })
    }
}

fn build_flavour(flavour: Flavour) -> Result<Kernel> {
    let target_dir = flavour.target_dir();
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(paths::workspace_root()).args([
        "build",
        "--release",
        "-p",
        PACKAGE,
        "--target",
        TARGET,
    ]);
    if flavour == Flavour::Fixture {
        eprintln!("building the kernel with the conformance fixture…");
        command
            .args(["--features", "fixture"])
            .arg("--target-dir")
            .arg(&target_dir);
    } else {
        eprintln!("building kernel…");
    }
    let status = command
        .status()
        .context("running cargo build for the kernel")?;
    if !status.success() {
        bail!("building the kernel ({flavour:?}) failed ({status})");
    }
    let elf64 = target_dir.join(TARGET).join("release").join(PACKAGE);
    let bytes = fs::read(&elf64).with_context(|| format!("reading {}", elf64.display()))?;
    if multiboot_header_offset(&bytes).is_none() {
        bail!(
            "{} has no multiboot v1 header (magic {MULTIBOOT_MAGIC:#x} with a valid checksum) \
             in its first {MULTIBOOT_SEARCH} bytes",
            elf64.display()
        );
    }
    fs::create_dir_all(paths::tessera_dir())?;
    let elf32 = flavour.elf32();
    // objcopy replaces its output by unlinking it first, and boots of concurrent tests copy
    // the same ELF32: convert into a file of this process and thread, then rename it over
    // the shared one (atomic), so a reader always finds a whole file.
    let thread = format!("{:?}", std::thread::current().id());
    let digits: String = thread.chars().filter(char::is_ascii_digit).collect();
    let partial = elf32.with_extension(format!("elf32.{}-{digits}.part", std::process::id()));
    let output = Command::new("objcopy")
        .args(["-O", "elf32-i386"])
        .arg(&elf64)
        .arg(&partial)
        .output()
        .context("running objcopy")?;
    if !output.status.success() {
        let _ = fs::remove_file(&partial);
        bail!(
            "objcopy -O elf32-i386 failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    fs::rename(&partial, &elf32)
        .with_context(|| format!("renaming {} to {}", partial.display(), elf32.display()))?;
    Ok(Kernel { elf64, elf32 })
}

/// Builds binary `bin` of `package` for x86_64-unknown-none, in a cargo invocation of its
/// own, checks it holds no rogue `VMFUNC` bytes ([`vmfunc_check`]; only the conformance
/// fixture may), and returns the path of the ELF.
pub fn build_bare_metal(package: &str, bin: &str) -> Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(paths::workspace_root())
        .args([
            "build",
            "--release",
            "-p",
            package,
            "--bin",
            bin,
            "--target",
            TARGET,
        ])
        .status()
        .with_context(|| format!("running cargo build for {package}"))?;
    if !status.success() {
        bail!("building {package} for {TARGET} failed ({status})");
    }
    let elf = paths::target_dir().join(TARGET).join("release").join(bin);
    vmfunc_check::check(package, &elf, vmfunc_check::allowance(package))?;
    Ok(elf)
}

/// Builds every package in `packages` for x86_64-unknown-none in ONE cargo invocation
/// (`cargo build --release --target x86_64-unknown-none -p a -p b ...`), checks each
/// image for rogue `VMFUNC` bytes with the allowance `allowance` gives its package
/// ([`vmfunc_check`]), and returns the ELF of each package's binary of the same name, in
/// the order given.
pub fn build_packages(
    packages: &[String],
    allowance: impl Fn(&str) -> Allowance,
) -> Result<Vec<PathBuf>> {
    if packages.is_empty() {
        return Ok(Vec::new());
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(paths::workspace_root())
        .args(["build", "--release", "--target", TARGET]);
    for package in packages {
        command.args(["-p", package]);
    }
    let status = command
        .status()
        .with_context(|| format!("running cargo build for {}", packages.join(", ")))?;
    if !status.success() {
        bail!(
            "building {} for {TARGET} failed ({status})",
            packages.join(", ")
        );
    }
    let release = paths::target_dir().join(TARGET).join("release");
    packages
        .iter()
        .map(|package| {
            let elf = release.join(package);
            if !elf.is_file() {
                bail!(
                    "package {package} built no binary named {package} ({} is missing); \
                     a compartment package's binary must be named like the package",
                    elf.display()
                );
            }
            vmfunc_check::check(package, &elf, allowance(package))?;
            Ok(elf)
        })
        .collect()
}

/// Where the multiboot v1 header is: magic, flags and checksum summing to 0 (mod 2^32),
/// 4-byte aligned, within the first 8 KiB.
pub fn multiboot_header_offset(image: &[u8]) -> Option<usize> {
    let word = |at: usize| {
        image
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    (0..MULTIBOOT_SEARCH.min(image.len()))
        .step_by(4)
        .find(|&at| {
            matches!(
                (word(at), word(at + 4), word(at + 8)),
                (Some(MULTIBOOT_MAGIC), Some(flags), Some(sum))
                    if MULTIBOOT_MAGIC.wrapping_add(flags).wrapping_add(sum) == 0
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(flags: u32) -> Vec<u8> {
        let sum = 0u32.wrapping_sub(MULTIBOOT_MAGIC).wrapping_sub(flags);
        [MULTIBOOT_MAGIC, flags, sum]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect()
    }

    #[test]
    fn conformance_boots_get_the_fixture_kernel_and_no_other_does() {
        assert_eq!(Flavour::for_args("conformance=1"), Flavour::Fixture);
        assert_eq!(
            Flavour::for_args("log=debug conformance=1 switch=emulate"),
            Flavour::Fixture
        );
        for args in ["", "switch=emulate", "conformance=0", "xconformance=1"] {
            assert_eq!(Flavour::for_args(args), Flavour::Hypervisor, "{args}");
        }
        assert_ne!(Flavour::Fixture.elf32(), Flavour::Hypervisor.elf32());
        assert_ne!(
            Flavour::Fixture.target_dir(),
            Flavour::Hypervisor.target_dir()
        );
    }

    #[test]
    fn finds_an_aligned_header_with_a_valid_checksum() {
        let mut image = vec![0u8; 4096];
        image.extend(header(0x0001_0003));
        assert_eq!(multiboot_header_offset(&image), Some(4096));
    }

    #[test]
    fn rejects_bad_checksum_misalignment_and_late_headers() {
        let mut bad = header(3);
        bad[8] ^= 1;
        assert_eq!(multiboot_header_offset(&bad), None);
        let mut misaligned = vec![0u8; 2];
        misaligned.extend(header(3));
        assert_eq!(multiboot_header_offset(&misaligned), None);
        let mut late = vec![0u8; MULTIBOOT_SEARCH];
        late.extend(header(3));
        assert_eq!(multiboot_header_offset(&late), None);
    }
}
