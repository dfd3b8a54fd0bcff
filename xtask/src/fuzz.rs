//! `cargo xtask fuzz`: coverage-guided fuzzing (libFuzzer) of the parsers that read bytes
//! a compartment author or a boot loader controls (docs/fuzzing.md).
//!
//! The targets live in `fuzz/` (a cargo-fuzz layout, outside the workspace: it needs
//! nightly). This command builds them with nightly and the instrumentation flags
//! cargo-fuzz uses ([`RUSTFLAGS`]), so nothing but the nightly toolchain and a C++
//! compiler (libFuzzer is C++) must be installed; writes seed corpora from the repo's own
//! data ([`seeds`]); runs each target under `nice -n 19` and reports executions, speed
//! and coverage. A crash fails the command with the input that caused it.

pub mod seeds;

use crate::paths;
use crate::tools::{self, Install};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A fuzz target: its binary in `fuzz/`, what it covers, the longest input it is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    pub name: &'static str,
    pub covers: &'static str,
    pub max_len: usize,
}

/// Every target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "image",
        covers: "ELF validator with relocation checks, loader model vs hermit-entry, VMFUNC scan",
        max_len: 64 * 1024,
    },
    Target {
        name: "manifest",
        covers: "manifest parser and printer",
        max_len: 16 * 1024,
    },
    Target {
        name: "ud_decode",
        covers: "#UD decoder (decode_ud, length_if) and the VMFUNC byte scanner",
        max_len: 32,
    },
    Target {
        name: "multiboot",
        covers: "multiboot v1 info parser and the frame allocator built from it",
        max_len: 40 * 1024,
    },
    Target {
        name: "console",
        covers: "console sanitiser (escape, unescape) and the per-compartment line budget",
        max_len: 8 * 1024,
    },
];

/// The flags cargo-fuzz (0.12) builds targets with: SanitizerCoverage feeding libFuzzer
/// (inline 8-bit counters, PC table, comparison tracing), `cfg(fuzzing)`, and debug
/// assertions and overflow checks on in the release build. No AddressSanitizer: the code
/// under test has no `unsafe` (tessera-core forbids it), so it would only slow runs down.
pub const RUSTFLAGS: &str = "-Cpasses=sancov-module \
    -Cllvm-args=-sanitizer-coverage-level=4 \
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
    -Cllvm-args=-sanitizer-coverage-pc-table \
    -Cllvm-args=-sanitizer-coverage-trace-compares \
    --cfg fuzzing -Cdebug-assertions -Coverflow-checks";

/// The host triple the targets are built for (an explicit `--target` keeps the flags off
/// build scripts and proc macros, as cargo-fuzz does).
const HOST: &str = "x86_64-unknown-linux-gnu";

/// How long or how much to fuzz.
#[derive(Clone, Debug, clap::Args)]
pub struct FuzzArgs {
    /// A short run of every target (CI): a few seconds each.
    #[arg(long)]
    pub smoke: bool,
    /// Only this target (image, manifest, ud_decode, multiboot, console).
    #[arg(long, value_name = "NAME")]
    pub target: Option<String>,
    /// Executions per target (default 10,000,000; with --smoke, time-bounded instead).
    #[arg(long, value_name = "N")]
    pub runs: Option<u64>,
    /// Seconds per target (overrides --runs).
    #[arg(long, value_name = "SECS")]
    pub seconds: Option<u64>,
}

/// What one run reported (`-print_final_stats=1` and the last status line).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub executions: u64,
    pub execs_per_sec: u64,
    pub coverage: u64,
    pub features: u64,
    pub corpus: u64,
    pub seconds: u64,
}

/// Seconds per target in a smoke run: four targets stay well inside CI's two minutes
/// with the build.
pub const SMOKE_SECONDS: u64 = 8;

/// `cargo xtask fuzz`.
pub fn command(args: &FuzzArgs) -> Result<bool> {
    let targets: Vec<Target> = match &args.target {
        None => TARGETS.to_vec(),
        Some(name) => match TARGETS.iter().find(|t| t.name == name) {
            Some(t) => vec![*t],
            None => bail!(
                "no fuzz target {name} (targets: {})",
                TARGETS
                    .iter()
                    .map(|t| t.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    };
    ensure_tools(Install::IfRoot)?;
    // The commit the targets are built from (a run can outlast later commits).
    let commit = git_head().unwrap_or_else(|| "unknown".into());
    let bins = build()?;
    let limit = match (args.seconds, args.runs, args.smoke) {
        (Some(s), _, _) => Limit::Seconds(s),
        (None, Some(n), _) => Limit::Runs(n),
        (None, None, true) => Limit::Seconds(SMOKE_SECONDS),
        (None, None, false) => Limit::Runs(10_000_000),
    };
    let mut rows = Vec::new();
    for target in &targets {
        let seeds = seeds::write(target.name)?;
        eprintln!("fuzz {}: {} seeds, {limit:?}", target.name, seeds.1);
        let stats = run(&bins.join(target.name), target, &seeds.0, limit)?;
        rows.push((target.name, stats));
    }
    println!(
        "| target | executions | exec/s | coverage (cov / ft) | corpus | seconds | crashes | commit |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (name, s) in &rows {
        println!(
            "| `{name}` | {} | {} | {} / {} | {} | {} | 0 | {commit} |",
            s.executions, s.execs_per_sec, s.coverage, s.features, s.corpus, s.seconds
        );
    }
    Ok(true)
}

#[derive(Clone, Copy, Debug)]
enum Limit {
    Runs(u64),
    Seconds(u64),
}

/// The nightly toolchain (installed with rustup if missing) and a C++ compiler.
pub fn ensure_tools(install: Install) -> Result<()> {
    tools::ensure(&tools::for_fuzzing(), install)?;
    let nightly = Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .output()
        .context("running rustup (is rustup installed?)")?;
    if nightly.status.success() {
        return Ok(());
    }
    if install == Install::Never {
        bail!(
            "the nightly toolchain is missing: rustup toolchain install nightly --profile minimal"
        );
    }
    eprintln!("installing the nightly toolchain with rustup (fuzzing needs it)");
    let status = Command::new("rustup")
        .args(["toolchain", "install", "nightly", "--profile", "minimal"])
        .status()?;
    if !status.success() {
        bail!("rustup toolchain install nightly --profile minimal failed ({status})");
    }
    Ok(())
}

/// Where fuzzing keeps its build, corpora and crashes: `target/fuzz/`.
pub fn fuzz_dir() -> PathBuf {
    paths::target_dir().join("fuzz")
}

/// Builds every target; returns the directory holding the binaries.
fn build() -> Result<PathBuf> {
    let build_dir = fuzz_dir().join("build");
    eprintln!("building the fuzz targets with nightly…");
    let status = Command::new("cargo")
        .current_dir(paths::workspace_root().join("fuzz"))
        .env_remove("RUSTC")
        .env_remove("RUSTDOC")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env("RUSTFLAGS", RUSTFLAGS)
        .env("CARGO_TARGET_DIR", &build_dir)
        .args(["+nightly", "build", "--release", "--bins", "--target", HOST])
        .status()
        .context("running cargo +nightly build in fuzz/")?;
    if !status.success() {
        bail!("building the fuzz targets failed ({status})");
    }
    Ok(build_dir.join(HOST).join("release"))
}

/// Runs one target; an error if it crashed (with the input that did it).
fn run(bin: &Path, target: &Target, seeds: &Path, limit: Limit) -> Result<Stats> {
    let corpus = fuzz_dir().join("corpus").join(target.name);
    let artifacts = fuzz_dir().join("artifacts").join(target.name);
    std::fs::create_dir_all(&corpus)?;
    std::fs::create_dir_all(&artifacts)?;
    let mut command = Command::new("nice");
    command
        .args(["-n", "19"])
        .arg(bin)
        .arg(&corpus)
        .arg(seeds)
        .arg(format!("-max_len={}", target.max_len))
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .arg("-print_final_stats=1");
    match limit {
        Limit::Runs(n) => command.arg(format!("-runs={n}")),
        Limit::Seconds(s) => command.arg(format!("-max_total_time={s}")),
    };
    let output = command
        .output()
        .with_context(|| format!("running {}", bin.display()))?;
    let log = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!(
            "fuzz target {} failed ({}); crashing inputs are in {}\n{}",
            target.name,
            output.status,
            artifacts.display(),
            tail.join("\n")
        );
    }
    let stats = parse_stats(&log);
    eprintln!(
        "fuzz {}: {} executions, {} exec/s, cov {} ft {}, corpus {}",
        target.name,
        stats.executions,
        stats.execs_per_sec,
        stats.coverage,
        stats.features,
        stats.corpus
    );
    Ok(stats)
}

/// Reads libFuzzer's final statistics and its last status line (`#N DONE cov: C ft: F
/// corp: K/...`).
pub fn parse_stats(log: &str) -> Stats {
    let mut stats = Stats::default();
    let number = |text: &str| {
        text.trim()
            .trim_end_matches('s')
            .parse::<u64>()
            .unwrap_or(0)
    };
    for line in log.lines() {
        if let Some(v) = line.strip_prefix("stat::number_of_executed_units:") {
            stats.executions = number(v);
        } else if let Some(v) = line.strip_prefix("stat::average_exec_per_sec:") {
            stats.execs_per_sec = number(v);
        } else if line.starts_with('#') && line.contains(" cov: ") {
            let mut words = line.split_whitespace();
            while let Some(word) = words.next() {
                let value = || words.clone().next().map(number).unwrap_or(0);
                match word {
                    "cov:" => stats.coverage = value(),
                    "ft:" => stats.features = value(),
                    "corp:" => {
                        stats.corpus = words
                            .clone()
                            .next()
                            .and_then(|c| c.split('/').next())
                            .map(number)
                            .unwrap_or(0);
                    }
                    _ => {}
                }
            }
        } else if let Some(v) = line
            .strip_prefix("Done ")
            .and_then(|r| r.split(" in ").nth(1))
        {
            stats.seconds = number(v.split_whitespace().next().unwrap_or(""));
        }
    }
    stats
}

/// The short commit of HEAD, `+dirty` when the work tree has changes.
fn git_head() -> Option<String> {
    let git = |args: &[&str]| {
        Command::new("git")
            .current_dir(paths::workspace_root())
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let head = git(&["rev-parse", "--short", "HEAD"])?;
    let dirty = git(&["status", "--porcelain"]).is_some_and(|s| !s.is_empty());
    Some(if dirty { format!("{head}+dirty") } else { head })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_statistics_are_read() {
        let log = "INFO: Seed: 1\n\
            #2\tINITED cov: 120 ft: 130 corp: 5/2Kb exec/s: 0 rss: 30Mb\n\
            #1000000\tDONE   cov: 412 ft: 1093 corp: 88/11Kb lim: 4096 exec/s: 52631 rss: 61Mb\n\
            Done 1000000 runs in 19 second(s)\n\
            stat::number_of_executed_units: 1000000\n\
            stat::average_exec_per_sec:     52631\n\
            stat::new_units_added:          83\n";
        assert_eq!(
            parse_stats(log),
            Stats {
                executions: 1_000_000,
                execs_per_sec: 52631,
                coverage: 412,
                features: 1093,
                corpus: 88,
                seconds: 19,
            }
        );
    }

    #[test]
    fn every_target_has_a_binary_in_the_fuzz_crate() {
        let manifest =
            std::fs::read_to_string(paths::workspace_root().join("fuzz/Cargo.toml")).unwrap();
        let manifest: toml::Table = toml::from_str(&manifest).unwrap();
        let bins: Vec<&str> = manifest["bin"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|b| b["name"].as_str())
            .collect();
        let names: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
        assert_eq!(bins, names);
        for name in names {
            assert!(
                paths::workspace_root()
                    .join(format!("fuzz/fuzz_targets/{name}.rs"))
                    .is_file()
            );
        }
    }
}
