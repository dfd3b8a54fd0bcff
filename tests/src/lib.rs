//! Helpers for the emulator scenarios: build the kernel once per test binary, boot it on
//! an engine, and assert on the `@@` lines of its transcript.
//!
//! A missing emulator fails the scenario with the command that installs it; nothing here
//! ever skips.

use std::sync::OnceLock;
use std::time::Duration;
use xtask::engine::Engine;
use xtask::image::Image;
use xtask::kernel::{self, Kernel};
use xtask::runner::{self, Echo, RunOutcome, RunSpec};
use xtask::tools::{self, Install};
use xtask::transcript::Verdict;

/// A Bochs engine with this CPU model.
pub fn bochs(cpu: &str) -> Engine {
    Engine::Bochs {
        cpu: cpu.to_owned(),
    }
}

/// A QEMU (TCG) engine with this CPU model.
pub fn qemu(cpu: &str) -> Engine {
    Engine::Qemu {
        cpu: cpu.to_owned(),
    }
}

/// The kernel, built once per test binary.
pub fn kernel() -> &'static Kernel {
    static KERNEL: OnceLock<Result<Kernel, String>> = OnceLock::new();
    match KERNEL.get_or_init(|| kernel::build().map_err(|e| format!("{e:#}"))) {
        Ok(kernel) => kernel,
        Err(e) => panic!("cannot build the kernel: {e}"),
    }
}

/// Generous limits: CI machines may be slower and run two emulators at once.
fn timeout(engine: &Engine) -> Duration {
    match engine {
        Engine::Bochs { .. } => Duration::from_secs(300),
        Engine::Qemu { .. } | Engine::Kvm { .. } => Duration::from_secs(120),
    }
}

/// Boots the kernel with `args` on `engine` and returns what happened. Panics if the
/// engine's tools are missing (with the install command) or the run cannot start.
pub fn boot(engine: Engine, args: &str) -> RunOutcome {
    if let Err(e) = tools::ensure(&tools::for_engine(&engine), Install::Never) {
        panic!("{e:#}");
    }
    let spec = RunSpec {
        image: Image::new(kernel().elf32.clone(), args),
        timeout: timeout(&engine),
        echo: Echo::Prefixed(engine.label()),
        engine,
    };
    runner::run(&spec).unwrap_or_else(|e| panic!("cannot boot {}: {e:#}", spec.engine.label()))
}

/// Asserts that the boot ended with `@@RESULT pass` as its last `@@` line.
pub fn assert_passed(outcome: &RunOutcome) {
    assert_eq!(
        outcome.verdict,
        Verdict::Pass,
        "\n{}",
        outcome.failure_report()
    );
}

/// Asserts that every `(name, value)` was reported as `@@CAP name=value`.
pub fn assert_caps(outcome: &RunOutcome, expected: &[(&str, &str)]) {
    let caps = outcome.transcript.caps();
    let wrong: Vec<String> = expected
        .iter()
        .filter(|(name, value)| caps.get(*name).map(String::as_str) != Some(*value))
        .map(|(name, value)| {
            let got = caps.get(*name).map_or("(absent)", String::as_str);
            format!("@@CAP {name}: expected {value}, got {got}")
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "{}\n{}",
        wrong.join("\n"),
        outcome.failure_report()
    );
}
