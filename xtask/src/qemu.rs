//! QEMU's command lines: TCG or KVM booting the ELF32 kernel with its multiboot loader
//! (`-kernel`, modules as `-initrd`), and TCG on OVMF booting the GRUB ISO from its CD
//! drive (`--engine uefi`).
//!
//! The guest ends QEMU through `isa-debug-exit`: writing v to the port exits with status
//! (v << 1) | 1, so 1 for pass and 3 for fail — never 0, and never the verdict.
//!
//! TCG runs with QEMU's instruction-counting clock ([`ICOUNT`]): the guest's TSC and
//! local-APIC timer (the SVM watchdog) advance with the instructions executed, not with
//! host time, so a watchdog budget buys the same work however loaded the host is.
//! `TESSERA_QEMU_CLOCK=host` ([`CLOCK_ENV`]) boots on host time instead (docs/engines.md).

use crate::image::Image;
use anyhow::{Result, bail};
use std::ffi::OsString;
use std::path::Path;
use std::process::Command;
use tessera_abi::exit::QEMU_DEBUG_EXIT_PORT;

/// The `-icount` option of every TCG boot: 2^3 = 8 ns of virtual time, so 8 TSC ticks,
/// per guest instruction; `sleep=off`: when the guest halts, the virtual clock jumps to
/// the next timer instead of waiting for the host's.
pub const ICOUNT: &str = "shift=3,sleep=off";

/// The environment variable choosing TCG's clock: unset, empty or `icount` for
/// [`Clock::Instructions`], `host` for [`Clock::Host`].
pub const CLOCK_ENV: &str = "TESSERA_QEMU_CLOCK";

/// What the guest's clocks (TSC, APIC timer) follow under TCG.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Clock {
    /// Instructions executed (`-icount` [`ICOUNT`]): deterministic, whatever the host load.
    #[default]
    Instructions,
    /// The host's time (QEMU's default): an activation is charged for the time its QEMU
    /// process was descheduled.
    Host,
}

impl Clock {
    /// The clock named by [`CLOCK_ENV`].
    pub fn from_env() -> Result<Clock> {
        Clock::parse(std::env::var(CLOCK_ENV).ok().as_deref())
    }

    /// The clock named by a value of [`CLOCK_ENV`] (`None`: unset).
    pub fn parse(value: Option<&str>) -> Result<Clock> {
        match value.map(str::trim) {
            None | Some("" | "icount") => Ok(Clock::Instructions),
            Some("host") => Ok(Clock::Host),
            Some(other) => bail!("{CLOCK_ENV}={other}: expected `icount` (the default) or `host`"),
        }
    }

    /// The clock's name in reports: its [`CLOCK_ENV`] value.
    pub fn name(self) -> &'static str {
        match self {
            Clock::Instructions => "icount",
            Clock::Host => "host",
        }
    }

    /// QEMU's arguments for this clock.
    fn args(self) -> Vec<OsString> {
        match self {
            Clock::Instructions => vec!["-icount".into(), ICOUNT.into()],
            Clock::Host => Vec::new(),
        }
    }
}

/// TCG (software, on the given clock) or KVM (hardware) acceleration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accel {
    Tcg(Clock),
    Kvm,
}

/// What the two kinds of boot share: the machine, the accelerator and clock, the CPU
/// model, memory, firmware, no display, COM1 to the file `com1`, `cpus` CPUs and the
/// debug-exit device.
struct Machine<'a> {
    machine: &'a str,
    accel: &'a str,
    clock: Vec<OsString>,
    cpu: &'a str,
    memory_mib: &'a str,
    firmware: Option<&'a str>,
    cpus: u32,
}

impl Machine<'_> {
    fn args(self, com1: &Path) -> Vec<OsString> {
        let mut args: Vec<OsString> = ["-machine", self.machine, "-accel", self.accel]
            .iter()
            .map(OsString::from)
            .collect();
        args.extend(self.clock);
        args.extend(["-cpu", self.cpu, "-m", self.memory_mib].map(OsString::from));
        if let Some(firmware) = self.firmware {
            args.extend(["-bios", firmware].map(OsString::from));
        }
        args.extend(
            [
                "-display",
                "none",
                "-no-reboot",
                "-monitor",
                "none",
                "-serial",
            ]
            .map(OsString::from),
        );
        let mut serial = OsString::from("file:");
        serial.push(com1);
        args.push(serial);
        if self.cpus > 1 {
            args.push("-smp".into());
            args.push(self.cpus.to_string().into());
        }
        args.push("-device".into());
        args.push(format!("isa-debug-exit,iobase={QEMU_DEBUG_EXIT_PORT:#x},iosize=0x04").into());
        args
    }
}

/// The arguments booting `image` with COM1 written to `com1`.
pub fn args(accel: Accel, cpu: &str, image: &Image, com1: &Path) -> Vec<OsString> {
    let (name, clock) = match accel {
        Accel::Tcg(clock) => ("tcg", clock.args()),
        Accel::Kvm => ("kvm", Vec::new()),
    };
    let machine = Machine {
        machine: "pc",
        accel: name,
        clock,
        cpu,
        memory_mib: "256",
        firmware: None,
        cpus: image.cpus,
    };
    let mut args = machine.args(com1);
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

/// The arguments booting the GRUB `iso` on OVMF (a q35 machine, as UEFI PCs are) with
/// `cpus` CPUs under TCG on `clock`.
pub fn uefi_args(cpu: &str, clock: Clock, cpus: u32, iso: &Path, com1: &Path) -> Vec<OsString> {
    let machine = Machine {
        machine: "q35",
        accel: "tcg",
        clock: clock.args(),
        cpu,
        memory_mib: "512",
        firmware: Some(OVMF),
        cpus,
    };
    let mut args = machine.args(com1);
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
    fn tcg_boots_the_elf32_with_debug_exit_on_the_instruction_clock() {
        let image = Image::new("/t/tessera.elf32".into(), "a=1 b=2");
        let args = args(
            Accel::Tcg(Clock::Instructions),
            "qemu64,+svm,+npt",
            &image,
            Path::new("/r/com1.txt"),
        );
        assert_eq!(
            joined(&args),
            "-machine pc -accel tcg -icount shift=3,sleep=off -cpu qemu64,+svm,+npt -m 256 \
             -display none -no-reboot -monitor none -serial file:/r/com1.txt \
             -device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel /t/tessera.elf32 -append a=1 b=2"
        );
        // The arguments stay one argv entry.
        assert_eq!(args[args.len() - 1], "a=1 b=2");
    }

    #[test]
    fn smp_gives_qemu_n_cpus_and_one_cpu_adds_nothing() {
        let mut image = Image::new("/t/k".into(), "");
        let one = joined(&args(Accel::Kvm, "host", &image, Path::new("/c")));
        assert!(!one.contains("-smp"), "{one}");
        image.cpus = 4;
        let four = joined(&args(Accel::Kvm, "host", &image, Path::new("/c")));
        assert!(four.contains(" -smp 4 "), "{four}");
    }

    #[test]
    fn tcg_on_host_time_has_no_icount() {
        let image = Image::new("/t/k".into(), "");
        let args = joined(&args(
            Accel::Tcg(Clock::Host),
            "qemu64,+svm,+npt",
            &image,
            Path::new("/r/c"),
        ));
        assert!(args.starts_with("-machine pc -accel tcg -cpu "), "{args}");
        assert!(!args.contains("icount"), "{args}");
    }

    #[test]
    fn the_clock_comes_from_the_environment_variable() {
        assert_eq!(Clock::parse(None).unwrap(), Clock::Instructions);
        assert_eq!(Clock::parse(Some("")).unwrap(), Clock::Instructions);
        assert_eq!(Clock::parse(Some("icount")).unwrap(), Clock::Instructions);
        assert_eq!(Clock::parse(Some("host")).unwrap(), Clock::Host);
        for clock in [Clock::Instructions, Clock::Host] {
            assert_eq!(Clock::parse(Some(clock.name())).unwrap(), clock);
        }
        let e = Clock::parse(Some("hots")).unwrap_err().to_string();
        assert!(e.contains("TESSERA_QEMU_CLOCK=hots"), "{e}");
    }

    #[test]
    fn uefi_boots_the_iso_on_ovmf() {
        let args = uefi_args(
            "qemu64,+svm,+npt",
            Clock::Instructions,
            1,
            Path::new("/r/t.iso"),
            Path::new("/r/c"),
        );
        let args = joined(&args);
        assert!(
            args.starts_with(
                "-machine q35 -accel tcg -icount shift=3,sleep=off -cpu qemu64,+svm,+npt -m 512 \
                 -bios /usr/share/ovmf/OVMF.fd "
            ),
            "{args}"
        );
        assert!(
            args.ends_with(
                "-serial file:/r/c -device isa-debug-exit,iobase=0xf4,iosize=0x04 -cdrom /r/t.iso"
            ),
            "{args}"
        );
        let host = joined(&uefi_args(
            "max",
            Clock::Host,
            2,
            Path::new("/i"),
            Path::new("/c"),
        ));
        assert!(
            host.starts_with("-machine q35 -accel tcg -cpu max "),
            "{host}"
        );
        assert!(host.contains(" -smp 2 "), "{host}");
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
        // KVM runs on the real TSC: no instruction clock.
        assert!(args.contains("-accel kvm -cpu host,+vmx "), "{args}");
        assert!(!args.contains("icount"), "{args}");
        assert!(
            args.ends_with(
                "-initrd /t/a,,b/vault.elf vault,/t/a,,b/app.elf app expect=fault:memory"
            ),
            "{args}"
        );
    }
}
