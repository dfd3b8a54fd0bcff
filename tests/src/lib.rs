//! Helpers for the emulator scenarios: build the kernel once per test binary, boot it on
//! an engine, and assert on the `@@` lines of its transcript.
//!
//! A missing emulator fails the scenario with the command that installs it; nothing here
//! ever skips.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use xtask::declaration::{Declaration, Expect};
use xtask::engine::Engine;
use xtask::examples::Plan;
use xtask::image::{Image, Module};

use xtask::kernel::{self, Kernel};
use xtask::runner::{self, BootOutcome, BootSpec, Echo};
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

/// The kernel with the VMFUNC conformance fixture, built once per test binary.
pub fn fixture_kernel() -> &'static Kernel {
    static KERNEL: OnceLock<Result<Kernel, String>> = OnceLock::new();
    match KERNEL.get_or_init(|| kernel::build_fixture().map_err(|e| format!("{e:#}"))) {
        Ok(kernel) => kernel,
        Err(e) => panic!("cannot build the kernel with the conformance fixture: {e}"),
    }
}

/// The kernel a boot with kernel arguments `args` needs: the fixture's for
/// `conformance=1` (`xtask::kernel::Flavour`).
pub fn kernel_for(args: &str) -> &'static Kernel {
    match kernel::Flavour::for_args(args) {
        kernel::Flavour::Hypervisor => kernel(),
        kernel::Flavour::Fixture => fixture_kernel(),
    }
}

/// Generous limits: CI machines may be slower and run two emulators at once.
fn timeout(engine: &Engine) -> Duration {
    match engine {
        Engine::Bochs { .. } => Duration::from_secs(300),
        Engine::Qemu { .. } | Engine::Kvm { .. } | Engine::Uefi { .. } => Duration::from_secs(120),
        // Seconds of guest time per run inside the nested Linux.
        Engine::NestedKvm { .. } => Duration::from_secs(240),
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
pub fn boot(engine: Engine, args: &str) -> BootOutcome {
    boot_modules(engine, args, Vec::new())
}

/// [`boot`] with multiboot modules (compartments).
pub fn boot_modules(engine: Engine, args: &str, modules: Vec<Module>) -> BootOutcome {
    boot_kernel(kernel_for(args), engine, args, modules)
}

/// [`boot`] on a machine with `cpus` CPUs (`cargo xtask run --smp N`).
pub fn boot_smp(engine: Engine, args: &str, cpus: u32) -> BootOutcome {
    boot_smp_modules(engine, args, cpus, Vec::new())
}

/// [`boot_smp`] with multiboot modules (compartments).
pub fn boot_smp_modules(
    engine: Engine,
    args: &str,
    cpus: u32,
    modules: Vec<Module>,
) -> BootOutcome {
    if let Err(e) = tools::ensure(&tools::for_engine(&engine), Install::Never) {
        panic!("{e:#}");
    }
    let mut image = Image {
        modules,
        ..Image::new(kernel_for(args).elf32.clone(), args)
    };
    image.cpus = cpus;
    let spec = BootSpec {
        image,
        timeout: timeout(&engine),
        echo: Echo::Prefixed(format!("{} smp={cpus}", engine.label())),
        engine,
    };
    runner::boot(&spec).unwrap_or_else(|e| panic!("cannot boot {}: {e:#}", spec.engine.label()))
}

/// [`boot_modules`] on `kernel`, whatever `args` ask for.
pub fn boot_kernel(
    kernel: &Kernel,
    engine: Engine,
    args: &str,
    modules: Vec<Module>,
) -> BootOutcome {
    if let Err(e) = tools::ensure(&tools::for_engine(&engine), Install::Never) {
        panic!("{e:#}");
    }
    let spec = BootSpec {
        image: Image {
            modules,
            ..Image::new(kernel.elf32.clone(), args)
        },
        timeout: timeout(&engine),
        echo: Echo::Prefixed(engine.label()),
        engine,
    };
    runner::boot(&spec).unwrap_or_else(|e| panic!("cannot boot {}: {e:#}", spec.engine.label()))
}

/// Asserts that the boot ended with `@@RESULT pass` as its last `@@` line.
pub fn assert_passed(outcome: &BootOutcome) {
    assert_eq!(
        outcome.verdict,
        Verdict::Pass,
        "\n{}",
        outcome.failure_report()
    );
}

/// Asserts that every `(name, value)` was reported as `@@CAP name=value`.
pub fn assert_caps(outcome: &BootOutcome, expected: &[(&str, &str)]) {
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
pub fn records(outcome: &BootOutcome, word: &str) -> Vec<HashMap<String, String>> {
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
pub fn assert_record(outcome: &BootOutcome, word: &str, fields: &[(&str, &str)]) {
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

/// The plan of a declaration directory (`examples/vault`, `compartments/scenarios/NAME`,
/// relative to the workspace root): read and validated, not built.
pub fn plan(path: &str) -> Plan {
    Plan::for_dir(Path::new(path)).unwrap_or_else(|e| panic!("{path}: {e:#}"))
}

/// The declaration in `path`/tessera.toml.
pub fn declared(path: &str) -> Declaration {
    match plan(path) {
        Plan::Declared(d) => d,
        Plan::Single { .. } => panic!("{path} has no tessera.toml"),
    }
}

/// The modules of a declaration directory (`examples/vault`,
/// `compartments/scenarios/NAME`): its packages built in one cargo invocation, once per
/// test binary, one module per compartment (with its `expect=`) and the manifest.
pub fn declaration(path: &str) -> Vec<Module> {
    static BUILT: Mutex<Option<HashMap<String, Vec<Module>>>> = Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let map = built.get_or_insert_with(HashMap::new);
    if let Some(modules) = map.get(path) {
        return modules.clone();
    }
    let modules = plan(path)
        .build()
        .unwrap_or_else(|e| panic!("cannot build {path}: {e:#}"));
    map.insert(path.to_owned(), modules.clone());
    modules
}

/// Boots `key` once per test binary: the first caller runs `boot`, later callers (other
/// tests asserting on the same transcript, in any thread) wait for it and share the
/// outcome. Different keys boot concurrently, within the runner's emulator limit.
pub fn boot_once(key: &str, boot: impl FnOnce() -> BootOutcome) -> &'static BootOutcome {
    type Cells = HashMap<String, &'static OnceLock<BootOutcome>>;
    static BOOTS: Mutex<Option<Cells>> = Mutex::new(None);
    let cell: &'static OnceLock<BootOutcome> = {
        let mut boots = BOOTS.lock().unwrap_or_else(|e| e.into_inner());
        boots
            .get_or_insert_with(HashMap::new)
            .entry(key.to_owned())
            .or_insert_with(|| Box::leak(Box::new(OnceLock::new())))
    };
    cell.get_or_init(boot)
}

/// Boots the declaration in `path` on Bochs `tigerlake` (once per test binary; see
/// [`boot_once`]) with no kernel arguments.
pub fn boot_declaration(path: &str) -> &'static BootOutcome {
    boot_once(path, || {
        boot_modules(bochs("tigerlake"), "", declaration(path))
    })
}

/// What compartment `name` printed: its console lines (`[NAME] text`), without the prefix.
pub fn console<'a>(outcome: &'a BootOutcome, name: &str) -> Vec<&'a str> {
    let prefix = format!("[{name}] ");
    outcome
        .transcript
        .lines
        .iter()
        .filter_map(|l| l.strip_prefix(&prefix))
        .collect()
}

/// The index in the transcript of the first line satisfying `pred`.
pub fn line_index(outcome: &BootOutcome, pred: impl Fn(&str) -> bool) -> Option<usize> {
    outcome.transcript.lines.iter().position(|l| pred(l))
}

/// What is wrong with how the compartments of `d` ended in `outcome`, each against its
/// `expect` (default exit 0): the `@@EXIT code=`, `@@FAULT kind=` or `@@REJECT` line it
/// needs (for `reject:PROBLEM`, with `problem=PROBLEM` and the details that problem
/// carries: `offset=` for `vmfunc-bytes`, `needed=` for `out-of-memory`, `cpu=` and
/// `cpus=` for `cpu`, `image_abi=` and
/// `hypervisor_abi=` for `abi-version`), and `@@RESULT pass`. Empty when all is as
/// declared.
pub fn declared_outcome_problems(d: &Declaration, outcome: &BootOutcome) -> Vec<String> {
    let has = |word: &str, fields: &[(&str, &str)], keys: &[&str]| {
        records(outcome, word).into_iter().any(|r| {
            fields
                .iter()
                .all(|(k, v)| r.get(*k).map(String::as_str) == Some(*v))
                && keys
                    .iter()
                    .all(|k| r.get(*k).is_some_and(|v| !v.is_empty()))
        })
    };
    let mut problems = Vec::new();
    for c in &d.compartments {
        let name = c.name.as_str();
        let mut keys: &[&str] = &[];
        let (word, fields): (&str, Vec<(&str, String)>) = match Declaration::expected(c) {
            Expect::Exit(code) => (
                "EXIT",
                vec![("compartment", name.into()), ("code", code.to_string())],
            ),
            Expect::Fault(Some(kind)) => (
                "FAULT",
                vec![("compartment", name.into()), ("kind", kind.clone())],
            ),
            Expect::Fault(None) => ("FAULT", vec![("compartment", name.into())]),
            Expect::Reject(None) => ("REJECT", vec![("module", name.into())]),
            Expect::Reject(Some(problem)) => {
                keys = reject_details(&problem);
                (
                    "REJECT",
                    vec![("module", name.into()), ("problem", problem.clone())],
                )
            }
            Expect::Aborted => ("ABORT", vec![("compartment", name.into())]),
        };
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        if !has(word, &fields, keys) {
            let mut want: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
            want.extend(keys.iter().map(|k| format!("{k}=...")));
            problems.push(format!(
                "{}: no @@{word} line with {}",
                d.file,
                want.join(" ")
            ));
        }
    }
    if outcome.verdict != Verdict::Pass {
        problems.push(format!("{}: {}", d.file, outcome.summary()));
    }
    problems
}

/// A `@@FAULT` line a scenario must show: (compartment, fields besides `compartment=`).
pub type Fault = (&'static str, &'static [(&'static str, &'static str)]);

/// Boots scenario `name` (shared with the test that checks every scenario ends as declared) and checks what
/// every attack scenario promises: each expected `@@FAULT`, no `not contained` line, the
/// victim and the bystander never stopped and exiting 0 (the bystander after the victim
/// answered it), and `@@RESULT pass`.
pub fn check_scenario(name: &str, faults: &[Fault]) -> &'static BootOutcome {
    let outcome = boot_declaration(&format!("compartments/scenarios/{name}"));
    for (compartment, fields) in faults {
        let mut want = vec![("compartment", *compartment)];
        want.extend_from_slice(fields);
        assert_record(outcome, "FAULT", &want);
    }
    assert!(
        !outcome
            .transcript
            .lines
            .iter()
            .any(|l| l.contains("not contained")),
        "scenario {name}: an attack was not contained\n{}",
        outcome.failure_report()
    );
    let declared = declared(&format!("compartments/scenarios/{name}"));
    for innocent in ["victim", "bystander"] {
        if !declared.compartments.iter().any(|c| c.name == innocent) {
            continue;
        }
        let stopped = records(outcome, "FAULT")
            .into_iter()
            .any(|r| r.get("compartment").map(String::as_str) == Some(innocent));
        assert!(
            !stopped,
            "scenario {name}: {innocent} was stopped\n{}",
            outcome.failure_report()
        );
        assert_record(outcome, "EXIT", &[("compartment", innocent), ("code", "0")]);
    }
    if declared.compartments.iter().any(|c| c.name == "bystander") {
        assert!(
            console(outcome, "bystander")
                .iter()
                .any(|l| l.starts_with("bystander: victim answers") && l.ends_with("all fine")),
            "scenario {name}: the bystander was not served\n{}",
            outcome.failure_report()
        );
    }
    assert_passed(outcome);
    outcome
}

/// The outcome lines that must match the reference (Bochs tigerlake), normalised: what
/// legitimately differs by engine is left out (exit counts, `allowed=` of memory faults,
/// where a watchdog stopped a loop and how far past its budget, the pages a restart
/// found dirty and the ticks it took).
pub fn signature(outcome: &BootOutcome) -> BTreeSet<String> {
    let mut lines = BTreeSet::new();
    for word in [
        "EXIT",
        "FAULT",
        "REJECT",
        "ABORT",
        "ROUNDTRIPS",
        "APP",
        "RESTART",
        "IMAGE",
    ] {
        for r in records(outcome, word) {
            // Where a watchdog interrupts a loop depends on the engine's timer.
            let watchdog = r.get("kind").is_some_and(|k| k == "watchdog");
            let mut fields: Vec<String> = r
                .iter()
                .filter(|(k, _)| {
                    !matches!(
                        k.as_str(),
                        "allowed" | "exits" | "error" | "dirty" | "ticks"
                    )
                })
                .filter(|(k, _)| !(watchdog && matches!(k.as_str(), "rip" | "offset" | "used")))
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            fields.sort();
            lines.insert(format!("{word} {}", fields.join(" ")));
        }
    }
    lines
}

/// Every declaration the engine tests boot: each attack scenario in
/// `compartments/scenarios/` (enumerated, never listed by hand), pingpong, vault and
/// kvstore (typed interfaces with data through the call buffers).
pub fn declarations() -> Vec<String> {
    let mut paths: Vec<String> = xtask::examples::available(&xtask::paths::scenarios_dir())
        .into_iter()
        .map(|n| format!("compartments/scenarios/{n}"))
        .collect();
    paths.push("examples/pingpong".into());
    paths.push("examples/vault".into());
    paths.push("examples/kvstore".into());
    paths
}

/// The keys a `@@REJECT` line with this problem word must carry besides `module` and
/// `problem` (`ImageProblem::details` in tessera-core).
pub fn reject_details(problem: &str) -> &'static [&'static str] {
    match problem {
        "vmfunc-bytes" => &["offset"],
        "out-of-memory" => &["needed"],
        "cpu" => &["cpu", "cpus"],
        "relocation-in-code" => &["relocation", "offset"],
        "abi-version" => &["image_abi", "hypervisor_abi"],
        _ => &[],
    }
}
