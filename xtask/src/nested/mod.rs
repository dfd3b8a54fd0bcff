//! `--engine nested-kvm`: Tessera under real Linux KVM, on any machine.
//!
//! ```text
//! Bochs corei7_skylake_x (VMX, EPT, VMFUNC in software)
//!  └─ Debian's Linux, kvm_intel nested=1               L0 (the guest image, cached)
//!      └─ qemu-system-x86_64 -accel kvm -cpu host      (the host's QEMU and libraries)
//!          └─ Tessera                                  L1 (the payload, per session)
//!              └─ compartments                         L2
//! ```
//!
//! A session boots Linux once and runs any number of Tessera boots in it, one QEMU after
//! the other, each with its own transcript on the guest's COM2 (Linux keeps COM1). The
//! pieces, one concept per file: [`packages`] (Debian packages), [`vmlinux`],
//! [`stub`] and [`bootimage`] (the bzImage's segments behind a multiboot → PVH stub, so
//! Bochs never runs the kernel's xz decompressor), [`cpio`] and [`rootfs`] (the guest's
//! initramfs), [`guest`] (the cached image), [`payload`] (Tessera's files and QEMU
//! arguments), [`iso`], [`session`] (Bochs), [`channel`] (COM2 split into runs),
//! [`outcome`] (one result per run) and [`stage`] (what failed where).

pub mod bootimage;
pub mod channel;
pub mod cpio;
pub mod guest;
pub mod iso;
pub mod outcome;
pub mod packages;
pub mod payload;
pub mod rootfs;
pub mod session;
pub mod stage;
pub mod stub;
pub mod vmlinux;

use crate::engine::Engine;
use crate::runner::{BootOutcome, BootSpec, Echo};
use crate::{paths, tools};
use anyhow::{Context, Result, bail};
use payload::QemuRun;
use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Bochs' CPU for the session: the one model whose VMX runs Linux 6.1 (`tigerlake` and
/// `corei7_icelake_u` hang early in its boot).
pub const BOCHS_CPU: &str = "corei7_skylake_x";

/// Wall time a run may take per guest second of its timeout (Bochs' clock runs at
/// `ips` = 100 M instructions a second; Bochs executes about 46 M a second, fewer on a
/// busy machine).
const WALL_PER_GUEST_SECOND: u32 = 3;

fn session_dir(cpu: &str) -> Result<PathBuf> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = paths::runs_dir().join(format!(
        "nested-kvm-{cpu}-{millis}-{}-{n}",
        std::process::id()
    ));
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// Boots every spec (all on this nested-kvm engine) in ONE Linux boot, in order. The
/// outer error is the session's (package, image build, Linux boot, KVM module load);
/// each inner one is a run's own (QEMU start, or not reached).
pub fn boot_all(specs: &[BootSpec]) -> Result<Vec<Result<BootOutcome>>> {
    let Some(first) = specs.first() else {
        return Ok(Vec::new());
    };
    let engine = first.engine.clone();
    let Engine::NestedKvm { cpu } = &engine else {
        bail!("nested::boot_all was given a {} boot", engine.name());
    };
    if let Some(other) = specs.iter().find(|s| s.engine != engine) {
        bail!(
            "one nested-kvm session cannot also boot on {}",
            other.engine.label()
        );
    }
    tools::ensure(&tools::for_engine(&engine), tools::Install::IfRoot)?;
    let guest = guest::ensure()?;
    let dir = session_dir(cpu)?;
    let runs: Vec<QemuRun> = specs
        .iter()
        .map(|s| QemuRun {
            image: s.image.clone(),
            timeout_secs: s.timeout.as_secs().max(1),
        })
        .collect();
    let payload_path = dir.join("tessera.cpio");
    let payload = payload::build(&runs, &dir.join("payload")).map_err(|e| {
        stage::StageError::new(
            stage::Stage::ImageBuild,
            format!("Tessera's payload: {e:#}"),
        )
    })?;
    fs::write(&payload_path, &payload)?;
    let iso = iso::make(&guest, &payload_path, &dir)?;
    let limit = session::LINUX_BOOT_LIMIT
        + runs
            .iter()
            .map(|r| {
                Duration::from_secs(r.timeout_secs) * WALL_PER_GUEST_SECOND
                    + Duration::from_secs(30)
            })
            .sum::<Duration>();
    let echo: &Echo = &first.echo;
    eprintln!(
        "nested-kvm: booting Linux in Bochs {cpu} for {} Tessera run(s) (session {}, limit {} s)…",
        runs.len(),
        dir.display(),
        limit.as_secs()
    );
    let collected = session::boot(cpu, &iso, &dir, &runs, echo, limit)?;
    let _ = fs::remove_file(&iso); // ~100 MB; rebuilt from the cache in a second
    fs::write(
        dir.join("session.txt"),
        outcome::summary(&collected, &guest.versions),
    )?;
    if let Some(e) = outcome::session_error(&collected) {
        return Err(e.into());
    }
    let argv = payload::layout(&runs)?.argv;
    Ok((0..runs.len())
        .map(|i| {
            let run = outcome::run_result(&collected, &engine, i, &argv[i])?;
            crate::runner::with_faults(run, &specs[i].image.modules)
        })
        .collect())
}

/// One boot in a session of its own.
pub fn boot(spec: &BootSpec) -> Result<BootOutcome> {
    boot_all(std::slice::from_ref(spec))?
        .pop()
        .context("the session returned no result")?
}
