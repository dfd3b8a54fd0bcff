//! `cargo xtask bench`: the switch-latency benchmarks (docs/benchmarks.md).
//!
//! Several boots, each reporting `@@BENCH {json}` lines from the benchmark compartments
//! (`compartments/bench-*`):
//!
//! | boot | what | benchmarks |
//! |---|---|---|
//! | `gates` | `compartments/benchmarks/gates/tessera.toml` (2 views) | a, c, d, e, g(2) |
//! | `fixture` | `bench-vmfunc` alone with `conformance=1` (the VMFUNC fixture) | b, h |
//! | `emulated` | `gates` again with `switch=emulate` | f |
//! | `views-N` | `gates` with its callee repeated as N-1 modules | g(N) |
//! | `restart` | `compartments/benchmarks/restart/tessera.toml` (2 views) | r |
//!
//! The results become a table (engine, CPU model and switch mode in its title),
//! `target/bench/<engine>-<cpu>-<mode>.json` and an SVG plot beside it;
//! `--compare A.json B.json` prints per-benchmark ratios.
//!
//! One concern per file: [`suite`](mod@suite) (what is measured, and the exits each
//! must cost), [`plan`] (the images to boot), [`measure`](mod@measure) (booting them),
//! [`line`](mod@line) (reading a `@@BENCH` line), [`report`] (matching lines to
//! benchmarks, the structural check), [`table`] and [`svg`] (for people),
//! [`result_file`] (the JSON file, through serde_json; [`layout`] its line breaks),
//! [`compare`] (two files side by side), [`layers`] (`--engine nested-kvm`: what each
//! layer costs a switch) and [`smp`](mod@smp) (`--smp 1,2,4`: round trips with several
//! vCPUs calling at once).

pub mod compare;
#[cfg(test)]
mod fixtures;
pub mod layers;
pub mod layout;
pub mod line;
pub mod measure;
pub mod plan;
pub mod report;
pub mod result_file;
pub mod smp;
pub mod suite;
pub mod svg;
pub mod table;

pub use line::BenchLine;
pub use measure::measure;
pub use plan::Plan;
pub use report::{BootResult, Entry, Report, check, collect};
pub use result_file::ResultFile;
pub use suite::{
    Benchmark, BootKind, DEFAULT_VIEWS, ITERATIONS, MAX_VIEWS, RESTART_ITERATIONS, RESTART_PAGES,
    suite,
};

use crate::commands::SwitchMode;
use crate::engine::{self, Engine, EngineRequest};
use crate::host::HostFacts;
use crate::paths;
use anyhow::{Result, bail};
use std::path::PathBuf;
use std::time::Duration;

/// Options of `cargo xtask bench`.
#[derive(Clone, Debug, clap::Args)]
pub struct BenchArgs {
    /// Which engine boots the benchmarks.
    #[arg(long, value_enum, default_value_t = EngineRequest::Auto)]
    pub engine: EngineRequest,
    /// CPU model (Bochs: tigerlake, corei7_skylake_x, ...; KVM: host,+vmx).
    #[arg(long)]
    pub cpu: Option<String>,
    /// View switching mode of every boot but the emulated one (which always emulates).
    #[arg(long, value_enum)]
    pub switch: Option<SwitchMode>,
    /// View counts of the scaling benchmark (g), comma-separated, each 2..=511.
    #[arg(long, value_delimiter = ',', default_values_t = DEFAULT_VIEWS)]
    pub views: Vec<usize>,
    /// Seconds before one boot is killed (default: 300 + 1 per view on Bochs).
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// Write one bootable ISO per boot into DIR instead of running (bare metal: boot each
    /// and read the @@BENCH lines on the serial port).
    #[arg(long, value_name = "DIR", conflicts_with = "compare")]
    pub iso: Option<PathBuf>,
    /// Instead of the suite: pingpong with each of these vCPU counts (comma-separated),
    /// every vCPU calling at once; prints exits and ticks per round trip per vCPU.
    #[arg(long, value_delimiter = ',', value_name = "N,...", conflicts_with_all = ["compare", "iso"])]
    pub smp: Option<Vec<u32>>,
    /// Print per-benchmark ratios B/A of two result files instead of running.
    #[arg(long, num_args = 2, value_names = ["A.json", "B.json"])]
    pub compare: Option<Vec<PathBuf>>,
}

/// `target/bench/`.
pub fn out_dir() -> PathBuf {
    paths::target_dir().join("bench")
}

/// `--compare A.json B.json`: the comparison, printed.
fn print_comparison(files: &[PathBuf]) -> Result<()> {
    let [a, b] = files else {
        bail!("--compare takes two files");
    };
    let (file_a, file_b) = (ResultFile::read(a)?, ResultFile::read(b)?);
    let (name_a, name_b) = (a.display().to_string(), b.display().to_string());
    print!("{}", compare::compare(&file_a, &file_b, &name_a, &name_b));
    Ok(())
}

/// `cargo xtask bench`: true when every benchmark was measured (or the comparison was
/// printed, or the ISOs written).
pub fn command(args: &BenchArgs) -> Result<bool> {
    if let Some(files) = &args.compare {
        print_comparison(files)?;
        return Ok(true);
    }
    let choice = engine::choose(args.engine, args.cpu.as_deref(), &HostFacts::probe())
        .map_err(anyhow::Error::msg)?;
    eprintln!(
        "engine: {} (cpu {}): {}",
        choice.engine.name(),
        choice.engine.cpu(),
        choice.why
    );
    let plan = Plan {
        engine: choice.engine,
        switch: args.switch,
        views: args.views.clone(),
        timeout: args.timeout.map(Duration::from_secs),
        progress: true,
    };
    if let Some(counts) = &args.smp {
        let timeout = Duration::from_secs(args.timeout.unwrap_or(600));
        let rows = smp::measure(&plan.engine, counts, timeout)?;
        print!("{}", smp::table(&plan.engine, &rows));
        return Ok(true);
    }
    if let Some(dir) = &args.iso {
        for iso in plan::write_isos(&plan, dir)? {
            println!("wrote {}", iso.display());
        }
        return Ok(true);
    }
    if let Engine::NestedKvm { .. } = plan.engine {
        return layers::command(&plan);
    }
    present(&measure(&plan)?)
}

/// Prints a report (failures, table, problems) and writes its result files; true when
/// every benchmark was measured.
pub(crate) fn present(report: &Report) -> Result<bool> {
    for b in report.boots.iter().filter(|b| !b.passed) {
        if let Some(failure) = &b.failure {
            eprintln!("boot {} failed:\n{failure}", b.kind.id());
        }
    }
    println!("{}", report.table());
    let (json, svg) = report.write(&out_dir())?;
    println!("wrote {} and {}", json.display(), svg.display());
    let problems = check(report);
    if !problems.is_empty() {
        eprintln!("problems:");
        for p in &problems {
            eprintln!("  {p}");
        }
    }
    Ok(report.complete())
}
