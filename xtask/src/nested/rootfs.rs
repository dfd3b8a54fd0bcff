//! The guest's initramfs: busybox, the three KVM modules of Debian's kernel, the host's
//! `qemu-system-x86_64` with every library `ldd` names and the firmware a `pc` machine
//! loads, and `/init` (guest/init.sh). Tessera's files are not in it: they come as a
//! second archive at boot ([`super::payload`]).

use super::cpio::Archive;
use super::stage::{Stage, StageError};
use anyhow::{Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// PID 1 of the guest.
pub const INIT: &str = include_str!("guest/init.sh");
/// The QEMU that boots Tessera inside the guest: the host's own.
pub const QEMU: &str = "/usr/bin/qemu-system-x86_64";
/// KVM's modules in load order (Debian builds them as modules; the .deb has no usable
/// modules.dep without depmod, so /init loads them by path).
pub const MODULES: [&str; 3] = [
    "kernel/virt/lib/irqbypass.ko",
    "kernel/arch/x86/kvm/kvm.ko",
    "kernel/arch/x86/kvm/kvm-intel.ko",
];
/// Firmware QEMU's `pc` machine loads with `-kernel` (multiboot), the default VGA and
/// NIC; found in Debian's firmware path (/usr/share/qemu, seabios, ipxe).
pub const FIRMWARE: [&str; 8] = [
    "/usr/share/qemu/kvmvapic.bin",
    "/usr/share/qemu/linuxboot.bin",
    "/usr/share/qemu/linuxboot_dma.bin",
    "/usr/share/qemu/multiboot.bin",
    "/usr/share/qemu/multiboot_dma.bin",
    "/usr/share/seabios/bios-256k.bin",
    "/usr/share/seabios/vgabios-stdvga.bin",
    "/usr/lib/ipxe/qemu/efi-e1000.rom",
];

fn build_err(what: impl Into<String>) -> anyhow::Error {
    StageError::new(Stage::ImageBuild, what).into()
}

/// The absolute paths of the shared objects in `ldd` output, the loader included.
pub fn ldd_paths(text: &str) -> Result<Vec<String>> {
    let mut paths = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.contains("not found") {
            return Err(build_err(format!("ldd {QEMU}: {line}")));
        }
        let path = match line.split_once("=>") {
            Some((_, right)) => right.split_whitespace().next(),
            None => line
                .split_whitespace()
                .next()
                .filter(|p| p.starts_with('/')),
        };
        if let Some(path) = path.filter(|p| p.starts_with('/')) {
            paths.push(path.to_owned());
        }
    }
    Ok(paths)
}

/// The libraries QEMU needs, from the host's `ldd`.
pub fn qemu_libraries() -> Result<Vec<String>> {
    let out = Command::new("ldd")
        .arg(QEMU)
        .output()
        .context("running ldd (package libc-bin)")?;
    if !out.status.success() {
        return Err(build_err(format!(
            "ldd {QEMU} failed: {} (is qemu-system-x86 installed?)",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    ldd_paths(&String::from_utf8_lossy(&out.stdout))
}

/// Adds the host file `path` at the same path in the archive, symlinks resolved.
fn host_file(archive: &mut Archive, path: &str) -> Result<()> {
    let data = fs::read(path).with_context(|| format!("reading {path}"))?;
    archive.file(path, 0o755, &data);
    Ok(())
}

/// The kernel release directory (`lib/modules/6.1.0-57-amd64`) of an unpacked image.
pub fn modules_dir(kernel_tree: &Path) -> Result<PathBuf> {
    let base = kernel_tree.join("lib/modules");
    let mut releases: Vec<PathBuf> = fs::read_dir(&base)
        .with_context(|| format!("reading {}", base.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    releases.sort();
    match releases.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(build_err(format!(
            "expected one kernel release in {}",
            base.display()
        ))),
    }
}

/// The whole initramfs. `busybox` is the static binary, `kernel_tree` the unpacked
/// kernel image package.
pub fn build(busybox: &Path, kernel_tree: &Path, libraries: &[String]) -> Result<Vec<u8>> {
    let mut a = Archive::new();
    for dir in [
        "bin",
        "usr/bin",
        "proc",
        "sys",
        "dev",
        "tmp",
        "lib/modules",
        "tessera",
    ] {
        a.dir(dir);
    }
    a.file(
        "bin/busybox",
        0o755,
        &fs::read(busybox).with_context(|| format!("reading {}", busybox.display()))?,
    );
    let list = Command::new(busybox)
        .arg("--list")
        .output()
        .context("running busybox --list")?;
    for applet in String::from_utf8_lossy(&list.stdout).split_whitespace() {
        if applet != "busybox" {
            a.symlink(&format!("bin/{applet}"), "busybox");
        }
    }
    let release = modules_dir(kernel_tree)?;
    for module in MODULES {
        let path = release.join(module);
        let data = fs::read(&path).map_err(|e| build_err(format!("{}: {e}", path.display())))?;
        let name = module.rsplit('/').next().unwrap_or(module);
        a.file(&format!("lib/modules/{name}"), 0o644, &data);
    }
    host_file(&mut a, QEMU)?;
    for lib in libraries {
        host_file(&mut a, lib)?;
    }
    for firmware in FIRMWARE {
        if Path::new(firmware).exists() {
            host_file(&mut a, firmware)?;
        }
    }
    a.file("init", 0o755, INIT.as_bytes());
    Ok(a.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ldd_output() {
        let text = "\tlinux-vdso.so.1 (0x00007ffc)\n\
                    \tlibz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x00007f)\n\
                    \t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n";
        assert_eq!(
            ldd_paths(text).unwrap(),
            [
                "/lib/x86_64-linux-gnu/libz.so.1",
                "/lib64/ld-linux-x86-64.so.2"
            ]
        );
        assert!(ldd_paths("\tlibfoo.so => not found\n").is_err());
    }

    #[test]
    fn init_reports_on_com2_and_never_with_at_at() {
        assert!(INIT.starts_with("#!/bin/sh\n"));
        assert!(INIT.contains("COM2=/dev/ttyS1"));
        for line in INIT.lines().filter(|l| l.contains("say \"")) {
            assert!(!line.contains("\"@@"), "{line}");
        }
    }
}
