//! The session's boot CD: GRUB (BIOS) loading the guest image with `multiboot` and both
//! archives as modules, uncompressed (`--nounzip`). Only the small payload is new per
//! session; the guest files are hard-linked from the cache when the file system allows.

use super::guest::GuestImage;
use super::stage::{Stage, StageError};
use crate::image::GRUB_I386_PC_DIR;
use anyhow::{Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Linux's command line. `tsc_early_khz`/`lpj`: Bochs' TSC counts instructions (100 MHz
/// at `ips=100000000`) whatever CPUID 0x15 claims; `nosmp`: one CPU; `quiet
/// loglevel=3`: every console byte costs emulated time.
pub const LINUX_ARGS: &str = "console=ttyS0,115200 quiet loglevel=3 mitigations=off \
     tsc_early_khz=100000 tsc=reliable lpj=400000 nosmp";

/// Extra Linux arguments for experiments (appended to [`LINUX_ARGS`]).
pub const EXTRA_ARGS_ENV: &str = "TESSERA_NESTED_LINUX_ARGS";

/// The `grub.cfg`: GRUB on COM1 too, so a stuck load shows where.
pub fn grub_cfg() -> String {
    let extra = std::env::var(EXTRA_ARGS_ENV).unwrap_or_default();
    let extra = extra.trim();
    let args = if extra.is_empty() {
        LINUX_ARGS.to_owned()
    } else {
        format!("{LINUX_ARGS} {extra}")
    };
    format!(
        "set timeout=0\nset default=0\nserial --unit=0 --speed=115200\nterminal_output serial\n\
         menuentry \"tessera nested-kvm\" {{\n\
         \x20   echo \"grub: loading the guest (Linux, initramfs, Tessera's payload)\"\n\
         \x20   multiboot /boot/linux.elf {args}\n\
         \x20   module --nounzip /boot/initramfs.cpio initramfs\n\
         \x20   module --nounzip /boot/tessera.cpio tessera\n\
         \x20   boot\n}}\n"
    )
}

fn link_or_copy(from: &Path, to: &Path) -> Result<()> {
    if fs::hard_link(from, to).is_err() {
        fs::copy(from, to).with_context(|| format!("copying {}", from.display()))?;
    }
    Ok(())
}

/// Writes `dir/nested.iso` from the guest image and the payload archive.
pub fn make(guest: &GuestImage, payload: &Path, dir: &Path) -> Result<PathBuf> {
    let root = dir.join("iso-root");
    let boot = root.join("boot");
    fs::create_dir_all(boot.join("grub"))?;
    fs::write(boot.join("grub/grub.cfg"), grub_cfg())?;
    link_or_copy(&guest.boot_elf, &boot.join("linux.elf"))?;
    link_or_copy(&guest.initramfs, &boot.join("initramfs.cpio"))?;
    link_or_copy(payload, &boot.join("tessera.cpio"))?;
    let iso = dir.join("nested.iso");
    let out = Command::new("grub-mkrescue")
        .arg("-d")
        .arg(GRUB_I386_PC_DIR)
        .arg("-o")
        .arg(&iso)
        .arg(&root)
        .output()
        .context("running grub-mkrescue")?;
    if !out.status.success() {
        return Err(StageError::new(
            Stage::ImageBuild,
            format!(
                "grub-mkrescue failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        )
        .into());
    }
    fs::remove_dir_all(&root)?;
    Ok(iso)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grub_loads_linux_and_both_archives_uncompressed() {
        let cfg = grub_cfg();
        assert!(
            cfg.contains(&format!("    multiboot /boot/linux.elf {LINUX_ARGS}\n")),
            "{cfg}"
        );
        let initramfs = cfg.find("module --nounzip /boot/initramfs.cpio").unwrap();
        let payload = cfg.find("module --nounzip /boot/tessera.cpio").unwrap();
        assert!(
            initramfs < payload,
            "the stub appends the second module to the first"
        );
        assert!(LINUX_ARGS.contains("console=ttyS0") && LINUX_ARGS.contains("nosmp"));
    }
}
