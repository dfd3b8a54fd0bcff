//! A bootable image: the kernel, its command line and its multiboot modules, and the
//! GRUB ISO made from it (how Bochs and bare metal boot Tessera).
//!
//! Command-line convention, the same under QEMU and GRUB: a multiboot command line (the
//! kernel's and each module's) starts with the file's path, then the arguments. QEMU's
//! loader does that itself; GRUB 2 drops the path, so `grub.cfg` repeats it.

use anyhow::{Context, Result, bail};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the kernel lives inside the ISO.
pub const ISO_KERNEL_PATH: &str = "/boot/tessera.elf";
/// GRUB's BIOS platform directory (package grub-pc-bin).
pub const GRUB_I386_PC_DIR: &str = "/usr/lib/grub/i386-pc";

/// A multiboot module: an ELF file, the name on its command line, and more arguments
/// for the hypervisor (e.g. `expect=fault:memory`; see `tessera_core::outcome`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Module {
    pub path: PathBuf,
    pub name: String,
    pub args: String,
}

impl Module {
    /// A module named `name` with no further arguments.
    pub fn new(path: PathBuf, name: impl Into<String>) -> Module {
        Module {
            path,
            name: name.into(),
            args: String::new(),
        }
    }

    /// The same module with `args` on its command line.
    pub fn with_args(mut self, args: impl Into<String>) -> Module {
        self.args = args.into();
        self
    }
}

/// What gets booted: a 32-bit multiboot kernel, its arguments, its modules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// The ELF32 kernel (`objcopy -O elf32-i386` of the built ELF64).
    pub kernel: PathBuf,
    /// Kernel arguments (after the path on the multiboot command line).
    pub args: String,
    pub modules: Vec<Module>,
    /// CPUs the emulated machine has (Bochs `cpu: count=N`, QEMU `-smp N`); 1 unless
    /// `--smp` asks for more.
    pub cpus: u32,
}

impl Image {
    /// A kernel with arguments and no modules.
    pub fn new(kernel: PathBuf, args: impl Into<String>) -> Image {
        Image {
            kernel,
            args: args.into(),
            modules: Vec::new(),
            cpus: 1,
        }
    }

    /// Where a module lives inside the ISO.
    pub fn iso_module_path(module: &Module) -> String {
        format!("/boot/{}.elf", module.name)
    }
}

/// The `grub.cfg` that boots `image` at once.
pub fn grub_cfg(image: &Image) -> Result<String> {
    let mut kernel_line = format!("multiboot {ISO_KERNEL_PATH} {ISO_KERNEL_PATH}");
    for word in image.args.split_whitespace() {
        kernel_line.push(' ');
        kernel_line.push_str(&grub_word(word)?);
    }
    let mut cfg = String::from("set timeout=0\nset default=0\nmenuentry \"tessera\" {\n");
    cfg.push_str(&format!("    {kernel_line}\n"));
    for module in &image.modules {
        check_module_name(&module.name)?;
        let path = Image::iso_module_path(module);
        let mut line = format!("module {path} {path} {}", module.name);
        for word in module.args.split_whitespace() {
            line.push(' ');
            line.push_str(&grub_word(word)?);
        }
        cfg.push_str(&format!("    {line}\n"));
    }
    cfg.push_str("    boot\n}\n");
    Ok(cfg)
}

/// One argument as a GRUB script word: as is when plain, else single-quoted.
fn grub_word(word: &str) -> Result<String> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "._,=:/+-@%".contains(c);
    if word.chars().all(plain) {
        return Ok(word.to_owned());
    }
    if word.contains('\'') || word.chars().any(char::is_control) {
        bail!(
            "kernel argument {word:?} cannot be passed through grub.cfg (quote or control character)"
        );
    }
    Ok(format!("'{word}'"))
}

fn check_module_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !ok {
        bail!("module name {name:?} must be non-empty and use only A-Z a-z 0-9 _ -");
    }
    Ok(())
}

/// Makes `dir/tessera.iso` with `grub-mkrescue`, staging the files in `dir`. Without
/// `-d`, grub-mkrescue includes every GRUB platform installed: BIOS (grub-pc-bin) and
/// UEFI (grub-efi-amd64-bin, both required by the tools table), one hybrid ISO whose
/// GRUB EFI boots the same multiboot kernel.
pub fn make_iso(image: &Image, dir: &Path) -> Result<PathBuf> {
    let cfg = grub_cfg(image)?;
    let root = dir.join("iso-root");
    let boot = root.join("boot");
    fs::create_dir_all(boot.join("grub"))
        .with_context(|| format!("creating {}", boot.display()))?;
    fs::write(boot.join("grub/grub.cfg"), &cfg)?;
    fs::copy(&image.kernel, boot.join("tessera.elf"))
        .with_context(|| format!("copying {}", image.kernel.display()))?;
    for module in &image.modules {
        fs::copy(&module.path, boot.join(format!("{}.elf", module.name)))
            .with_context(|| format!("copying {}", module.path.display()))?;
    }
    let iso = dir.join("tessera.iso");
    let output = Command::new("grub-mkrescue")
        .arg("-o")
        .arg(&iso)
        .arg(&root)
        .output()
        .context("running grub-mkrescue")?;
    if !output.status.success() {
        bail!(
            "grub-mkrescue failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    fs::remove_dir_all(&root)?;
    Ok(iso)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grub_cfg_boots_at_once_with_path_first() {
        let image = Image::new("k.elf32".into(), "log=debug  mode=x");
        assert_eq!(
            grub_cfg(&image).unwrap(),
            "set timeout=0\nset default=0\nmenuentry \"tessera\" {\n    \
             multiboot /boot/tessera.elf /boot/tessera.elf log=debug mode=x\n    boot\n}\n"
        );
    }

    #[test]
    fn grub_cfg_lists_modules_by_name() {
        let mut image = Image::new("k.elf32".into(), "");
        image
            .modules
            .push(Module::new("target/vault".into(), "vault"));
        image
            .modules
            .push(Module::new("target/evil".into(), "evil").with_args("expect=fault:memory"));
        let cfg = grub_cfg(&image).unwrap();
        assert!(
            cfg.contains("    module /boot/evil.elf /boot/evil.elf evil expect=fault:memory\n"),
            "{cfg}"
        );
        assert!(
            cfg.contains("    multiboot /boot/tessera.elf /boot/tessera.elf\n"),
            "{cfg}"
        );
        assert!(
            cfg.contains("    module /boot/vault.elf /boot/vault.elf vault\n"),
            "{cfg}"
        );
        image.modules[0].name = "../x".into();
        assert!(grub_cfg(&image).is_err());
    }

    #[test]
    fn special_arguments_are_quoted_or_refused() {
        let image = Image::new("k".into(), "a=$x b;c");
        assert!(grub_cfg(&image).unwrap().contains(" 'a=$x' 'b;c'\n"));
        assert!(grub_cfg(&Image::new("k".into(), "it's")).is_err());
    }
}
