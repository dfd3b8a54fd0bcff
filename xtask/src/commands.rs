//! The `run` ([`build_and_boot`]), `test` and `setup` commands.

use crate::engine::{self, EngineRequest};
use crate::examples::Plan;
use crate::host::HostFacts;
use crate::image::Image;
use crate::runner::{self, BootSpec, Echo};
use crate::tools::{self, Install};
use crate::{kernel, paths};
use anyhow::{Context, Result, bail};
use std::process::Command;
use std::time::Duration;

/// How long a boot under `--gdb` may take without `--timeout`: a day.
const GDB_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// How compartments switch views in this boot (passed to the kernel as `switch=MODE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SwitchMode {
    /// Hardware VMFUNC where the CPU has it, else emulated.
    Auto,
    /// Require hardware VMFUNC.
    Hardware,
    /// Always emulate the switch (trap VMFUNC).
    Emulate,
}

/// Options of `cargo xtask run`.
#[derive(Clone, Debug, clap::Args)]
pub struct RunArgs {
    /// Which engine boots the image.
    #[arg(long, value_enum, default_value_t = EngineRequest::Auto)]
    pub engine: EngineRequest,
    /// CPU model (Bochs: tigerlake, ryzen, ...; QEMU: qemu64,+svm,+npt, ...).
    #[arg(long)]
    pub cpu: Option<String>,
    /// Boot an example from examples/NAME (one crate, or a tessera.toml declaration).
    #[arg(long, value_name = "NAME")]
    pub example: Option<String>,
    /// Boot the scenario declared in compartments/scenarios/NAME/tessera.toml, or with
    /// `smp/NAME` the SMP scenario in compartments/smp/NAME/tessera.toml (give --smp 2
    /// or more: its mains are placed on vCPU 1 and up).
    #[arg(long, value_name = "NAME", conflicts_with = "example")]
    pub scenario: Option<String>,
    /// Seconds before the emulator is killed (default: 120 for Bochs, 60 for QEMU/KVM).
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// Arguments on the kernel's command line.
    #[arg(
        long,
        value_name = "ARGS",
        default_value = "",
        allow_hyphen_values = true
    )]
    pub kernel_args: String,
    /// View switching mode (appended to the kernel arguments as switch=MODE).
    #[arg(long, value_enum)]
    pub switch: Option<SwitchMode>,
    /// CPUs the emulated machine has (Bochs `cpu: count=N`, QEMU `-smp N`); the kernel
    /// starts them all unless `--kernel-args cpus=N` limits it.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub smp: u32,
    /// Start QEMU halted with its gdbstub on 127.0.0.1:PORT (default 1234) and wait for
    /// gdb; no timeout unless --timeout is given (QEMU engines; docs/debugging.md).
    #[arg(
        long,
        value_name = "PORT",
        num_args = 0..=1,
        default_missing_value = "1234",
        require_equals = true
    )]
    pub gdb: Option<u16>,
}

/// The kernel command line for these options.
pub fn kernel_args(args: &RunArgs) -> String {
    let mut words: Vec<String> = args
        .kernel_args
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if let Some(mode) = args.switch {
        let mode = match mode {
            SwitchMode::Auto => "auto",
            SwitchMode::Hardware => "hardware",
            SwitchMode::Emulate => "emulate",
        };
        words.push(format!("switch={mode}"));
    }
    words.join(" ")
}

/// `cargo xtask run`: builds the kernel (and the example or scenario named), boots it
/// and follows COM1; true when the boot ends with `@@RESULT pass`.
pub fn build_and_boot(args: &RunArgs) -> Result<bool> {
    // Fail on a wrong name or a bad declaration before anything slow happens.
    let plan = match (&args.example, &args.scenario) {
        (Some(name), _) => Some(Plan::example(&paths::examples_dir(), name)?),
        (None, Some(name)) => Some(Plan::named_scenario(name)?),
        (None, None) => None,
    };
    let choice = engine::choose(args.engine, args.cpu.as_deref(), &HostFacts::probe())
        .map_err(anyhow::Error::msg)?;
    let engine = choice.engine;
    if args.gdb.is_some() {
        crate::gdb::check_engine(&engine)?;
    }
    eprintln!(
        "engine: {} (cpu {}): {}",
        engine.name(),
        engine.cpu(),
        choice.why
    );
    tools::ensure(&tools::for_engine(&engine), Install::IfRoot)?;
    let kernel_args = kernel_args(args);
    let kernel = kernel::build_for(&kernel_args)?;
    let mut image = Image::new(kernel.elf32, kernel_args);
    image.cpus = args.smp.max(1);
    if let Some(plan) = &plan {
        image.modules = plan.build()?;
    }
    let timeout = match (args.timeout, args.gdb) {
        (Some(secs), _) => Duration::from_secs(secs),
        // A person at gdb sets the pace.
        (None, Some(_)) => GDB_TIMEOUT,
        (None, None) => runner::default_timeout(&engine),
    };
    let spec = BootSpec {
        image,
        engine,
        timeout,
        echo: Echo::Lines,
    };
    eprintln!(
        "booting on {} (timeout {} s)…",
        spec.engine.label(),
        timeout.as_secs()
    );
    let outcome = match args.gdb {
        Some(port) => {
            eprintln!("{}", crate::gdb::instructions(port, &kernel.elf64));
            runner::boot_with_gdb(&spec, port)?
        }
        None => runner::boot(&spec)?,
    };
    if outcome.passed() {
        eprintln!("PASS: {}", outcome.summary());
        eprint!("{}", outcome.fault_report());
        eprintln!("run directory: {}", outcome.run_dir.display());
        Ok(true)
    } else {
        eprintln!("FAIL: {}", outcome.failure_report());
        Ok(false)
    }
}

/// The scenario test file of an engine that has one of its own.
pub fn engine_test_file(engine: EngineRequest) -> Result<&'static str> {
    match engine {
        EngineRequest::NestedKvm => Ok("nested"),
        EngineRequest::Uefi => Ok("uefi"),
        other => bail!(
            "--engine {other:?}: its scenarios are part of the whole suite; run `cargo xtask test`"
        ),
    }
}

/// `cargo xtask test`: host tests (the default members', then the libraries of the
/// examples: [`crate::example_tests`]), then the emulator scenarios (only `engine`'s own test
/// file when given); `extra` (e.g. `-- --nocapture`) goes to every `cargo test` run.
pub fn test(engine: Option<EngineRequest>, extra: &[String]) -> Result<()> {
    let only = engine.map(engine_test_file).transpose()?;
    let with_extra = |base: &[&str]| -> Vec<String> {
        base.iter()
            .map(|s| s.to_string())
            .chain(extra.iter().cloned())
            .collect()
    };
    let host = with_extra(&["test"]);
    eprintln!(
        "== host tests: cargo {} (workspace default members)",
        host.join(" ")
    );
    cargo(&host)?;
    let libs = crate::example_tests::find()?;
    if !libs.is_empty() {
        let examples = crate::example_tests::cargo_args(&libs, extra);
        eprintln!("== examples' host tests: cargo {}", examples.join(" "));
        cargo(&examples)?;
    }
    eprintln!("== host tools for the emulator scenarios");
    tools::ensure(&tools::all(), Install::IfRoot)?;
    let scenarios = match only {
        Some(file) => with_extra(&["test", "-p", "tessera-scenarios", "--test", file]),
        None => with_extra(&["test", "-p", "tessera-scenarios"]),
    };
    eprintln!("== emulator scenarios: cargo {}", scenarios.join(" "));
    cargo(&scenarios)?;
    eprintln!("== all tests passed");
    Ok(())
}

/// `cargo xtask setup`: every host tool any engine needs, the bare-metal target, and what
/// `cargo xtask fuzz` needs (the nightly toolchain, a C++ compiler).
pub fn setup() -> Result<()> {
    crate::fuzz::ensure_tools(Install::IfRoot)?;
    eprintln!("fuzzing tools present: nightly toolchain, c++");
    tools::ensure(&tools::all(), Install::IfRoot)?;
    eprintln!(
        "host tools present: {}",
        tools::all()
            .iter()
            .map(tools::describe)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .current_dir(paths::workspace_root())
        .output()
        .context("running rustup (is rustup installed?)")?;
    let targets = String::from_utf8_lossy(&installed.stdout);
    if targets.lines().any(|t| t.trim() == kernel::TARGET) {
        eprintln!("rust target {} installed", kernel::TARGET);
        return Ok(());
    }
    eprintln!("installing rust target {} with rustup", kernel::TARGET);
    let status = Command::new("rustup")
        .args(["target", "add", kernel::TARGET])
        .current_dir(paths::workspace_root())
        .status()?;
    if !status.success() {
        bail!("rustup target add {} failed ({status})", kernel::TARGET);
    }
    Ok(())
}

fn cargo(args: &[String]) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(args)
        .current_dir(paths::workspace_root())
        .status()
        .context("running cargo")?;
    if !status.success() {
        bail!("cargo {} failed ({status})", args.join(" "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        run: RunArgs,
    }

    fn parse(args: &[&str]) -> RunArgs {
        Cli::parse_from(std::iter::once("run").chain(args.iter().copied())).run
    }

    #[test]
    fn run_flags_parse() {
        let args = parse(&[
            "--engine",
            "bochs",
            "--cpu",
            "ryzen",
            "--timeout",
            "30",
            "--kernel-args",
            "log=debug -x",
            "--switch",
            "emulate",
        ]);
        assert_eq!(args.engine, EngineRequest::Bochs);
        assert_eq!(args.cpu.as_deref(), Some("ryzen"));
        assert_eq!(args.timeout, Some(30));
        assert_eq!(kernel_args(&args), "log=debug -x switch=emulate");
        let defaults = parse(&[]);
        assert_eq!(defaults.engine, EngineRequest::Auto);
        assert_eq!(kernel_args(&defaults), "");
        assert_eq!(defaults.example, None);
        assert_eq!(defaults.scenario, None);
    }

    #[test]
    fn gdb_takes_an_optional_port() {
        assert_eq!(parse(&[]).gdb, None);
        assert_eq!(parse(&["--gdb"]).gdb, Some(crate::gdb::DEFAULT_PORT));
        assert_eq!(parse(&["--gdb=4321"]).gdb, Some(4321));
        // Without `=`, the next word is not taken as the port.
        let args = parse(&["--gdb", "--scenario", "late-fault"]);
        assert_eq!(args.gdb, Some(1234));
        assert_eq!(args.scenario.as_deref(), Some("late-fault"));
        assert!(Cli::try_parse_from(["run", "--gdb=port"]).is_err());
    }

    #[test]
    fn example_and_scenario_exclude_each_other() {
        let args = parse(&["--scenario", "forge", "--switch", "hardware"]);
        assert_eq!(args.scenario.as_deref(), Some("forge"));
        assert_eq!(kernel_args(&args), "switch=hardware");
        let both = Cli::try_parse_from(["run", "--example", "vault", "--scenario", "forge"]);
        assert!(both.is_err());
    }
}
