//! Helpers for the emulator scenarios: build the kernel once per test binary, boot it on
//! an engine, and assert on the `@@` lines of its transcript.
//!
//! A missing emulator fails the scenario with the command that installs it; nothing here
//! ever skips.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use xtask::engine::Engine;
use xtask::image::{Image, Module};
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

/// A compartment package (in `compartments/` or `examples/`), built once per test binary
/// for x86_64-unknown-none, as a module named after the package.
pub fn compartment(package: &str) -> Module {
    static BUILT: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let map = built.get_or_insert_with(HashMap::new);
    let path = match map.get(package) {
        Some(path) => path.clone(),
        None => {
            let path = kernel::build_bare_metal(package, package)
                .unwrap_or_else(|e| panic!("cannot build compartment {package}: {e:#}"));
            map.insert(package.to_owned(), path.clone());
            path
        }
    };
    Module::new(path, package)
}

/// Boots the kernel with `args` on `engine` and returns what happened. Panics if the
/// engine's tools are missing (with the install command) or the run cannot start.
pub fn boot(engine: Engine, args: &str) -> RunOutcome {
    boot_modules(engine, args, Vec::new())
}

/// [`boot`] with multiboot modules (compartments).
pub fn boot_modules(engine: Engine, args: &str, modules: Vec<Module>) -> RunOutcome {
    if let Err(e) = tools::ensure(&tools::for_engine(&engine), Install::Never) {
        panic!("{e:#}");
    }
    let spec = RunSpec {
        image: Image {
            modules,
            ..Image::new(kernel().elf32.clone(), args)
        },
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

/// The `key=value` pairs of every `@@WORD` line of a boot.
pub fn records(outcome: &RunOutcome, word: &str) -> Vec<HashMap<String, String>> {
    outcome
        .transcript
        .records(word)
        .map(|r| {
            r.pairs()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

/// Asserts a `@@WORD` line exists whose fields include every `(key, value)` pair.
pub fn assert_record(outcome: &RunOutcome, word: &str, fields: &[(&str, &str)]) {
    let found = records(outcome, word).into_iter().any(|r| {
        fields
            .iter()
            .all(|(k, v)| r.get(*k).map(String::as_str) == Some(*v))
    });
    assert!(
        found,
        "no {word} line with {fields:?}\n{}",
        outcome.failure_report()
    );
}
