//! `cargo xtask`: build, boot and test Tessera.
// Issue 13's size rule: no function over 80 lines (the threshold is in clippy.toml).
#![deny(clippy::too_many_lines)]

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use xtask::commands::{self, RunArgs};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Build, boot and test Tessera")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build the kernel and boot it; exits 0 only on `@@RESULT pass`.
    Run(RunArgs),
    /// Host tests (examples' libraries too), then the emulator scenarios (ARGS go to every
    /// `cargo test` run).
    Test {
        /// Only the scenarios of this engine (nested-kvm: tests/tests/nested.rs; uefi:
        /// tests/tests/uefi.rs); without it, every scenario of every engine.
        #[arg(long, value_enum)]
        engine: Option<xtask::engine::EngineRequest>,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Start an application: examples/APP/ with one crate per compartment, in which the
    /// first compartment calls an export of the second; boots as generated.
    New(xtask::scaffold::NewArgs),
    /// Install every host tool the engines need and check the Rust target.
    Setup,
    /// Boot the capability probe on every engine and record the transcripts as fixtures.
    CaptureCaps,
    /// The VMFUNC conformance suite on every configuration; exits non-zero on a mismatch.
    Conformance {
        /// Only the configurations on this engine (nested-kvm: Linux KVM in Bochs).
        #[arg(long, value_enum)]
        engine: Option<xtask::engine::EngineRequest>,
        /// A file of more rows (docs/conformance.md), run with the standard ones.
        #[arg(long = "cases", value_name = "FILE")]
        cases: Vec<std::path::PathBuf>,
    },
    /// Switch-latency benchmarks: table, target/bench/*.json and .svg (docs/benchmarks.md).
    Bench(xtask::bench::BenchArgs),
    /// Coverage-guided fuzzing of the image, manifest, #UD and multiboot parsers and the
    /// console sanitiser (nightly; docs/fuzzing.md).
    Fuzz(xtask::fuzz::FuzzArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Cmd::Run(args) => commands::build_and_boot(args),
        Cmd::Test { engine, args } => commands::test(*engine, args).map(|()| true),
        Cmd::New(args) => xtask::scaffold::command(args).map(|()| true),
        Cmd::Setup => commands::setup().map(|()| true),
        Cmd::CaptureCaps => xtask::caps::capture().map(|()| true),
        Cmd::Bench(args) => xtask::bench::command(args),
        Cmd::Fuzz(args) => xtask::fuzz::command(args),
        Cmd::Conformance { engine, cases } => xtask::conformance::command(*engine, cases),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
