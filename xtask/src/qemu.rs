//! QEMU's command lines: TCG or KVM booting the ELF32 kernel with its multiboot loader
//! (`-kernel`, modules as `-initrd`), and TCG on OVMF booting the GRUB ISO from its CD
//! drive (`--engine uefi`).
//!
//! The guest ends QEMU through `isa-debug-exit`: writing v to the port exits with status
//! (v << 1) | 1, so 1 for pass and 3 for fail — never 0, and never the verdict.

use crate::image::Image;
use std::ffi::OsString;
use std::path::Path;
use std::process::Command;
use tessera_abi::exit::QEMU_DEBUG_EXIT_PORT;

/// TCG (software) or KVM (hardware) acceleration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accel {
    Tcg,
    Kvm,
}

/// The arguments booting `image` with COM1 written to `com1`.
pub fn args(accel: Accel, cpu: &str, image: &Image, com1: &Path) -> Vec<OsString> {
    let accel = match accel {
        Accel::Tcg => "tcg",
        Accel::Kvm => "kvm",
    };
    let mut serial = OsString::from("file:");
    serial.push(com1);
    let mut args: Vec<OsString> = [
        "-machine",
        "pc",
        "-accel",
        accel,
        "-cpu",
        cpu,
        "-m",
        "256",
        "-display",
        "none",
        "-no-reboot",
        "-monitor",
        "none",
        "-serial",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    args.push(serial);
    args.push("-device".into());
    args.push(format!("isa-debug-exit,iobase={QEMU_DEBUG_EXIT_PORT:#x},iosize=0x04").into());
    args.push("-kernel".into());
    args.push(image.kernel.clone().into_os_string());
    args.push("-append".into());
    args.push(image.args.clone().into());
    if !image.modules.is_empty() {
        // `-initrd "path name,path name"`: QEMU puts the whole "path name" on the module's
        // command line; a comma inside a path is written twice.
        let modules: Vec<String> = image
            .modules
            .iter()
            .map(|m| {
                let line = format!("{} {} {}", m.path.display(), m.name, m.args);
                line.trim_end().replace(',', ",,")
            })
            .collect();
        args.push("-initrd".into());
        args.push(modules.join(",").into());
    }
    args
}

/// UEFI firmware for QEMU (package ovmf).
pub const OVMF: &str = "/usr/share/ovmf/OVMF.fd";

/// The arguments booting the GRUB `iso` on OVMF (a q35 machine, as UEFI PCs are).
pub fn uefi_args(cpu: &str, iso: &Path, com1: &Path) -> Vec<OsString> {
    let mut serial = OsString::from("file:");
    serial.push(com1);
    let mut args: Vec<OsString> = [
        "-machine",
        "q35",
        "-accel",
        "tcg",
        "-cpu",
        cpu,
        "-m",
        "512",
        "-bios",
        OVMF,
        "-display",
        "none",
        "-no-reboot",
        "-monitor",
        "none",
        "-serial",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    args.push(serial);
    args.push("-device".into());
    args.push(format!("isa-debug-exit,iobase={QEMU_DEBUG_EXIT_PORT:#x},iosize=0x04").into());
    args.push("-cdrom".into());
    args.push(iso.as_os_str().to_owned());
    args
}

/// `qemu-system-x86_64 <args>`; the caller redirects stdin and output.
pub fn command(accel: Accel, cpu: &str, image: &Image, com1: &Path) -> Command {
    let mut command = Command::new("qemu-system-x86_64");
    command.args(args(accel, cpu, image, com1));
    command
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Module;

    fn joined(args: &[OsString]) -> String {
        args.iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn tcg_boots_the_elf32_with_debug_exit() {
        let image = Image::new("/t/tessera.elf32".into(), "a=1 b=2");
        let args = args(
            Accel::Tcg,
            "qemu64,+svm,+npt",
            &image,
            Path::new("/r/com1.txt"),
        );
        assert_eq!(
            joined(&args),
            "-machine pc -accel tcg -cpu qemu64,+svm,+npt -m 256 -display none -no-reboot \
             -monitor none -serial file:/r/com1.txt \
             -device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel /t/tessera.elf32 -append a=1 b=2"
        );
        // The arguments stay one argv entry.
        assert_eq!(args[args.len() - 1], "a=1 b=2");
    }

    #[test]
    fn uefi_boots_the_iso_on_ovmf() {
        let args = uefi_args("qemu64,+svm,+npt", Path::new("/r/t.iso"), Path::new("/r/c"));
        let args = joined(&args);
        assert!(
            args.starts_with("-machine q35 -accel tcg -cpu qemu64,+svm,+npt -m 512 -bios /usr/share/ovmf/OVMF.fd "),
            "{args}"
        );
        assert!(
            args.ends_with(
                "-serial file:/r/c -device isa-debug-exit,iobase=0xf4,iosize=0x04 -cdrom /r/t.iso"
            ),
            "{args}"
        );
    }

    #[test]
    fn kvm_and_modules() {
        let mut image = Image::new("/t/k".into(), "");
        for name in ["vault", "app"] {
            image
                .modules
                .push(Module::new(format!("/t/a,b/{name}.elf").into(), name));
        }
        image.modules[1].args = "expect=fault:memory".into();
        let args = joined(&args(Accel::Kvm, "host,+vmx", &image, Path::new("/r/c")));
        assert!(args.contains("-accel kvm -cpu host,+vmx "), "{args}");
        assert!(
            args.ends_with(
                "-initrd /t/a,,b/vault.elf vault,/t/a,,b/app.elf app expect=fault:memory"
            ),
            "{args}"
        );
    }
}
