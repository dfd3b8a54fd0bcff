//! Where things live: the workspace root and Tessera's build outputs under `target/`.

use std::path::{Path, PathBuf};

/// The workspace root (the directory holding the top-level `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    let xtask_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask_dir
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// Cargo's target directory (honours `CARGO_TARGET_DIR`, relative to the workspace root).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    }
}

/// Tessera's own outputs: the converted kernel, per-run directories.
pub fn tessera_dir() -> PathBuf {
    target_dir().join("tessera")
}

/// One subdirectory per emulator run (bochsrc, dbg.rc, com1.txt, bochs.log, ...).
pub fn runs_dir() -> PathBuf {
    tessera_dir().join("runs")
}

/// `examples/` at the workspace root: one subdirectory per example.
pub fn examples_dir() -> PathBuf {
    workspace_root().join("examples")
}

/// `compartments/scenarios/` at the workspace root: one subdirectory (with a
/// `tessera.toml`) per scenario.
pub fn scenarios_dir() -> PathBuf {
    workspace_root().join("compartments/scenarios")
}

/// `compartments/smp/` at the workspace root: scenarios that need several vCPUs (their
/// mains name `cpu = 1` and up, which a one-CPU boot rejects), so the one-CPU sweeps of
/// `compartments/scenarios/` never boot them; `--scenario smp/NAME` does.
pub fn smp_dir() -> PathBuf {
    workspace_root().join("compartments/smp")
}

/// Where the manifests written from declarations go (`LABEL.manifest`).
pub fn manifests_dir() -> PathBuf {
    tessera_dir().join("manifests")
}

/// Where `capture-caps` writes the transcripts `hypervisor/core`'s host tests read.
pub fn caps_fixtures_dir() -> PathBuf {
    workspace_root().join("hypervisor/core/tests/fixtures/caps")
}
