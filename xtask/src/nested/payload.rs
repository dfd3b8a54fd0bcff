//! Tessera's payload: the second initramfs of a session, unpacked over the guest's own
//! into `/tessera`. It holds each distinct kernel and module file once (ELF debug info
//! stripped: GRUB reads everything through the BIOS) and, per run, the exact QEMU
//! arguments — the same [`crate::qemu::args`] as `--engine kvm`, with the guest's paths,
//! `-accel kvm -cpu host`, and the serial port on the guest's COM2.

use super::cpio::Archive;
use crate::image::{Image, Module};
use crate::qemu::{self, Accel};
use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where Tessera's serial port goes inside the guest.
pub const GUEST_SERIAL: &str = "/dev/ttyS1";
/// The CPU QEMU gives Tessera: the guest's (Bochs') own, VMX included under nesting.
pub const QEMU_CPU: &str = "host";

/// One QEMU run of Tessera in a session (`##RUN id=N` on the channel, `/tessera/runs/N/`
/// in the guest).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QemuRun {
    pub image: Image,
    /// Seconds of guest time before `timeout` ends QEMU.
    pub timeout_secs: u64,
}

/// Where each distinct host file goes in the guest, and each run's QEMU arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub files: BTreeMap<PathBuf, String>,
    pub argv: Vec<Vec<String>>,
}

/// The directory name of run `index`: sorted by the guest's glob as they were given.
pub fn run_id(index: usize) -> String {
    format!("{index:03}")
}

/// The layout of `runs`: files numbered in order of first use, named
/// `/tessera/files/N-BASENAME` (absolute, so Tessera never mistakes a path for a
/// module name).
pub fn layout(runs: &[QemuRun]) -> Result<Layout> {
    let mut files: BTreeMap<PathBuf, String> = BTreeMap::new();
    let mut guest_path = |host: &Path| -> String {
        let n = files.len();
        files
            .entry(host.to_path_buf())
            .or_insert_with(|| {
                let base = host.file_name().and_then(|b| b.to_str()).unwrap_or("file");
                format!("/tessera/files/{n}-{base}")
            })
            .clone()
    };
    let mut argv = Vec::new();
    for run in runs {
        let image = Image {
            kernel: guest_path(&run.image.kernel).into(),
            args: run.image.args.clone(),
            modules: run
                .image
                .modules
                .iter()
                .map(|m| Module {
                    path: guest_path(&m.path).into(),
                    ..m.clone()
                })
                .collect(),
            cpus: run.image.cpus,
        };
        let args: Vec<String> = qemu::args(Accel::Kvm, QEMU_CPU, &image, Path::new(GUEST_SERIAL))
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        if let Some(bad) = args.iter().find(|a| a.contains('\n')) {
            bail!("a QEMU argument contains a newline: {bad:?}");
        }
        argv.push(args);
    }
    Ok(Layout { files, argv })
}

/// The payload archive of `runs`; stripped copies of the files are made in `work`.
pub fn build(runs: &[QemuRun], work: &Path) -> Result<Vec<u8>> {
    let layout = layout(runs)?;
    fs::create_dir_all(work).with_context(|| format!("creating {}", work.display()))?;
    let mut a = Archive::new();
    for (host, guest) in &layout.files {
        let data = fs::read(host).with_context(|| format!("reading {}", host.display()))?;
        let data = if data.starts_with(b"\x7fELF") {
            let stripped = work.join(guest.rsplit('/').next().unwrap_or("file"));
            strip(host, &stripped)?;
            fs::read(&stripped).with_context(|| format!("reading {}", stripped.display()))?
        } else {
            data // a manifest
        };
        a.file(guest, 0o644, &data);
    }
    for (i, (argv, run)) in layout.argv.iter().zip(runs).enumerate() {
        let dir = format!("tessera/runs/{}", run_id(i));
        a.file(
            &format!("{dir}/argv"),
            0o644,
            format!("{}\n", argv.join("\n")).as_bytes(),
        );
        a.file(
            &format!("{dir}/timeout"),
            0o644,
            format!("{}\n", run.timeout_secs).as_bytes(),
        );
    }
    Ok(a.finish())
}

/// `objcopy --strip-debug FROM TO`.
fn strip(from: &Path, to: &Path) -> Result<()> {
    let out = Command::new("objcopy")
        .arg("--strip-debug")
        .arg(from)
        .arg(to)
        .output()
        .context("running objcopy")?;
    if !out.status.success() {
        bail!(
            "objcopy --strip-debug {} failed: {}",
            from.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qemu_run(args: &str, modules: &[(&str, &str)]) -> QemuRun {
        let mut image = Image::new("/w/target/tessera/tessera.elf32".into(), args);
        for (path, name) in modules {
            image.modules.push(Module::new((*path).into(), *name));
        }
        QemuRun {
            image,
            timeout_secs: 60,
        }
    }

    #[test]
    fn files_are_shared_and_arguments_are_qemus_own() {
        let runs = [
            qemu_run(
                "",
                &[
                    ("/w/release/ping", "ping"),
                    ("/w/m/pp.manifest", "manifest"),
                ],
            ),
            qemu_run("switch=emulate", &[("/w/release/ping", "ping")]),
        ];
        let layout = layout(&runs).unwrap();
        let files: Vec<&str> = layout.files.values().map(String::as_str).collect();
        assert_eq!(
            files,
            [
                "/tessera/files/2-pp.manifest",
                "/tessera/files/1-ping",
                "/tessera/files/0-tessera.elf32"
            ]
        );
        let first = layout.argv[0].join(" ");
        assert!(first.contains("-accel kvm -cpu host "), "{first}");
        assert!(first.contains("-serial file:/dev/ttyS1 "), "{first}");
        assert!(
            first.contains("-kernel /tessera/files/0-tessera.elf32 -append  -initrd"),
            "{first}"
        );
        assert!(
            first.ends_with("/tessera/files/1-ping ping,/tessera/files/2-pp.manifest manifest"),
            "{first}"
        );
        let second = &layout.argv[1];
        assert_eq!(second[second.len() - 3], "switch=emulate");
        assert_eq!(run_id(7), "007");
    }
}
