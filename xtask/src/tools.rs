//! Host tools each engine (and fuzzing) needs, the Debian packages that provide them, and
//! installing them (as root on Debian/Ubuntu) or printing the exact command that would.

use crate::engine::Engine;
use anyhow::{Context, Result, bail};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Something that must exist on the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// An executable on `PATH`.
    Program(&'static str),
    /// A file (or directory) at a fixed path.
    File(&'static str),
}

/// A tool and the Debian packages that provide it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Requirement {
    pub need: Need,
    pub packages: &'static [&'static str],
}

const fn program(name: &'static str, packages: &'static [&'static str]) -> Requirement {
    Requirement {
        need: Need::Program(name),
        packages,
    }
}

const fn file(path: &'static str, packages: &'static [&'static str]) -> Requirement {
    Requirement {
        need: Need::File(path),
        packages,
    }
}

/// ELF64 → ELF32 conversion for the multiboot loaders.
pub const OBJCOPY: Requirement = program("objcopy", &["binutils"]);
pub const BOCHS: Requirement = program("bochs", &["bochs", "bochsbios", "vgabios"]);
/// Paths checked with `dpkg -L bochsbios bochs` on Debian 12: the VGA BIOS is a symlink
/// shipped by `bochs` into the `vgabios` package's `/usr/share/vgabios/vgabios.bin`.
pub const BOCHS_BIOS: Requirement = file("/usr/share/bochs/BIOS-bochs-latest", &["bochsbios"]);
pub const BOCHS_VGABIOS: Requirement = file(
    "/usr/share/bochs/VGABIOS-lgpl-latest",
    &["bochs", "vgabios"],
);
pub const GRUB_MKRESCUE: Requirement = program(
    "grub-mkrescue",
    &["grub-pc-bin", "grub-common", "xorriso", "mtools"],
);
/// GRUB's BIOS platform files (grub-mkrescue alone builds no BIOS-bootable ISO).
pub const GRUB_I386_PC: Requirement = file("/usr/lib/grub/i386-pc/modinfo.sh", &["grub-pc-bin"]);
/// GRUB's UEFI platform files: with them grub-mkrescue makes the ISO boot on UEFI too.
pub const GRUB_X86_64_EFI: Requirement = file(
    "/usr/lib/grub/x86_64-efi/modinfo.sh",
    &["grub-efi-amd64-bin"],
);
pub const OVMF: Requirement = file(crate::qemu::OVMF, &["ovmf"]);
pub const XORRISO: Requirement = program("xorriso", &["xorriso"]);
pub const MFORMAT: Requirement = program("mformat", &["mtools"]);
pub const QEMU: Requirement = program("qemu-system-x86_64", &["qemu-system-x86"]);
/// The nested-kvm guest: the kernel's xz payload, Debian packages, the PVH stub.
pub const XZ: Requirement = program("xz", &["xz-utils"]);
pub const DPKG_DEB: Requirement = program("dpkg-deb", &["dpkg"]);
pub const ASSEMBLER: Requirement = program("as", &["binutils"]);

/// A C++ compiler: `cargo xtask fuzz` builds libFuzzer (C++) through `libfuzzer-sys`.
pub const CXX: Requirement = program("c++", &["g++"]);

/// What fuzzing needs besides the nightly toolchain (which `fuzz::ensure_tools` installs
/// with rustup).
pub fn for_fuzzing() -> Vec<Requirement> {
    vec![CXX]
}

/// What booting on this engine needs.
pub fn for_engine(engine: &Engine) -> Vec<Requirement> {
    match engine {
        Engine::Bochs { .. } => vec![
            OBJCOPY,
            BOCHS,
            BOCHS_BIOS,
            BOCHS_VGABIOS,
            GRUB_MKRESCUE,
            GRUB_I386_PC,
            GRUB_X86_64_EFI,
            XORRISO,
            MFORMAT,
        ],
        Engine::Qemu { .. } | Engine::Kvm { .. } => vec![OBJCOPY, QEMU],
        Engine::Uefi { .. } => vec![
            OBJCOPY,
            QEMU,
            OVMF,
            GRUB_MKRESCUE,
            GRUB_I386_PC,
            GRUB_X86_64_EFI,
            XORRISO,
            MFORMAT,
        ],
        Engine::NestedKvm { .. } => {
            let mut needs = for_engine(&Engine::Bochs { cpu: String::new() });
            needs.extend([QEMU, XZ, DPKG_DEB, ASSEMBLER]);
            needs
        }
    }
}

/// What every engine needs (for `setup` and the scenario tests).
pub fn all() -> Vec<Requirement> {
    let mut all = for_engine(&Engine::Bochs { cpu: String::new() });
    for engine in [
        Engine::NestedKvm { cpu: String::new() },
        Engine::Uefi { cpu: String::new() },
    ] {
        for requirement in for_engine(&engine) {
            if !all.contains(&requirement) {
                all.push(requirement);
            }
        }
    }
    all
}

/// The packages that provide these requirements, sorted and deduplicated.
pub fn packages(requirements: &[Requirement]) -> Vec<&'static str> {
    let mut packages: Vec<&'static str> = requirements
        .iter()
        .flat_map(|r| r.packages.iter().copied())
        .collect();
    packages.sort_unstable();
    packages.dedup();
    packages
}

/// The apt-get command that installs these packages.
pub fn install_command(packages: &[&str]) -> String {
    format!(
        "apt-get install -y --no-install-recommends {}",
        packages.join(" ")
    )
}

/// A short name for a requirement: the program or the path.
pub fn describe(requirement: &Requirement) -> &'static str {
    match requirement.need {
        Need::Program(name) | Need::File(name) => name,
    }
}

/// The requirements not met on this host.
pub fn missing(requirements: &[Requirement]) -> Vec<Requirement> {
    requirements
        .iter()
        .filter(|r| !is_present(r))
        .copied()
        .collect()
}

fn is_present(requirement: &Requirement) -> bool {
    match requirement.need {
        Need::Program(name) => find_program(name).is_some(),
        Need::File(path) => Path::new(path).exists(),
    }
}

/// The full path of an executable on `PATH`.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            candidate
                .metadata()
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

/// Whether `ensure` may run apt-get itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Install {
    /// Install when root on Debian/Ubuntu, else print the command and fail.
    IfRoot,
    /// Never install: fail with the command (tests must not change the machine).
    Never,
}

/// Makes sure every requirement is met, installing the packages if allowed and possible.
pub fn ensure(requirements: &[Requirement], install: Install) -> Result<()> {
    let missing = missing(requirements);
    if missing.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = missing.iter().map(describe).collect();
    let packages = packages(&missing);
    let debian = Path::new("/etc/debian_version").exists();
    if install == Install::IfRoot && debian && is_root() {
        eprintln!(
            "installing {} with apt-get (missing: {})",
            packages.join(" "),
            names.join(", ")
        );
        apt_get(&["update"])?;
        let mut args = vec!["install", "-y", "--no-install-recommends"];
        args.extend(&packages);
        apt_get(&args)?;
        let still = self::missing(requirements);
        if !still.is_empty() {
            let names: Vec<&str> = still.iter().map(describe).collect();
            bail!("still missing after apt-get install: {}", names.join(", "));
        }
        return Ok(());
    }
    let sudo = if is_root() { "" } else { "sudo " };
    let hint = if debian {
        String::new()
    } else {
        " (Debian package names; use your distribution's equivalents)".to_owned()
    };
    bail!(
        "missing host tools: {}\ninstall them with: {sudo}{}{hint}",
        names.join(", "),
        install_command(&packages)
    )
}

fn apt_get(args: &[&str]) -> Result<()> {
    let status = Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .context("running apt-get")?;
    if !status.success() {
        bail!("apt-get {} failed ({status})", args.join(" "));
    }
    Ok(())
}

/// Whether this process runs with effective uid 0 (read from `/proc/self/status`).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|status| effective_uid(&status) == Some(0))
        .unwrap_or(false)
}

/// The effective uid from a `/proc/<pid>/status` text (`Uid: real effective saved fs`).
pub fn effective_uid(status: &str) -> Option<u32> {
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bochs_needs_bochs_grub_and_bioses() {
        let engine = Engine::Bochs {
            cpu: "tigerlake".into(),
        };
        let packages = packages(&for_engine(&engine));
        assert_eq!(
            packages,
            [
                "binutils",
                "bochs",
                "bochsbios",
                "grub-common",
                "grub-efi-amd64-bin",
                "grub-pc-bin",
                "mtools",
                "vgabios",
                "xorriso"
            ]
        );
    }

    #[test]
    fn qemu_and_kvm_need_qemu_and_objcopy() {
        for engine in [
            Engine::Qemu {
                cpu: "qemu64".into(),
            },
            Engine::Kvm { cpu: "host".into() },
        ] {
            assert_eq!(
                packages(&for_engine(&engine)),
                ["binutils", "qemu-system-x86"]
            );
        }
    }

    #[test]
    fn install_command_is_exact() {
        let all = packages(&all());
        assert_eq!(
            install_command(&all),
            "apt-get install -y --no-install-recommends binutils bochs bochsbios dpkg grub-common \
             grub-efi-amd64-bin grub-pc-bin mtools ovmf qemu-system-x86 vgabios xorriso xz-utils"
        );
    }

    #[test]
    fn reads_effective_uid() {
        assert_eq!(effective_uid("Name:\tx\nUid:\t1000\t0\t0\t0\n"), Some(0));
        assert_eq!(effective_uid("Uid:\t1000\t1000\t1000\t1000\n"), Some(1000));
        assert_eq!(effective_uid("Name: x\n"), None);
    }

    #[test]
    fn finds_programs_on_path() {
        assert!(find_program("sh").is_some());
        assert!(find_program("no-such-program-tessera").is_none());
    }
}
