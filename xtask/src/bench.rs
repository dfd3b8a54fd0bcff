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
//!
//! The results become a table (engine, CPU model and switch mode in its title),
//! `target/bench/<engine>-<cpu>-<mode>.json` and an SVG plot beside it;
//! `--compare A.json B.json` prints per-benchmark ratios.

pub mod json;
pub mod layers;
pub mod svg;

use crate::commands::SwitchMode;
use crate::declaration::{Declaration, Kind, MANIFEST_MODULE};
use crate::engine::{self, Engine, EngineRequest};
use crate::examples::write_manifest;
use crate::host::HostFacts;
use crate::image::{Image, Module};
use crate::runner::{self, Echo, RunOutcome, RunSpec};
use crate::tools::{self, Install};
use crate::{kernel, paths};
use anyhow::{Context, Result, bail};
use json::Json;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The declaration of the gate benchmarks (relative to the workspace root).
pub const GATES_DECLARATION: &str = "compartments/benchmarks/gates";
/// The fixture benchmark's package, booted alone as the module of the same name (the
/// kernel's VMFUNC fixture accepts only this name besides `conformance`).
pub const FIXTURE_PACKAGE: &str = "bench-vmfunc";
/// The callee every scaling run repeats, as named in the gates declaration.
pub const TEMPLATE_CALLEE: &str = "callee-1";
/// The compartment that calls the callees, as named in the gates declaration.
pub const CALLER: &str = "bench";
/// View counts of the scaling benchmark (g) unless `--views` says otherwise.
pub const DEFAULT_VIEWS: [usize; 4] = [2, 16, 128, 511];
/// Most views a manifest may have (512 EPTP-list entries, one kept spare).
pub const MAX_VIEWS: usize = 511;
/// Iterations every benchmark compartment times (`bench_kit::ITERATIONS`).
pub const ITERATIONS: u64 = 10_000;
/// How often a long boot reports that it is still running.
const HEARTBEAT: Duration = Duration::from_secs(20);

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
    /// Print per-benchmark ratios B/A of two result files instead of running.
    #[arg(long, num_args = 2, value_names = ["A.json", "B.json"])]
    pub compare: Option<Vec<PathBuf>>,
}

/// Which boot a benchmark comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BootKind {
    /// The gates declaration as written (2 views).
    Gates,
    /// `bench-vmfunc` in the VMFUNC fixture.
    Fixture,
    /// The gates declaration with `switch=emulate`.
    Emulated,
    /// The gates declaration scaled to this many views.
    Scaling(usize),
}

impl BootKind {
    /// `gates`, `fixture`, `emulated`, `views-N`.
    pub fn id(&self) -> String {
        match self {
            BootKind::Gates => "gates".into(),
            BootKind::Fixture => "fixture".into(),
            BootKind::Emulated => "emulated".into(),
            BootKind::Scaling(n) => format!("views-{n}"),
        }
    }
}

/// One benchmark of the suite: where its `@@BENCH` line comes from and what it costs
/// in VM exits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    /// Short id (`a`, `c0`, `g128`, ...), the key in result files.
    pub id: String,
    /// What it measures.
    pub title: String,
    pub boot: BootKind,
    /// The `name` member of its `@@BENCH` line.
    pub name: &'static str,
    /// `views` member it must carry (scaling runs), if any.
    pub views: Option<usize>,
    /// VM exits per iteration that are not view switches (hypercalls).
    pub hypercall_exits: u64,
    /// View switches per iteration (each one VM exit when emulated, none in hardware).
    pub switches: u64,
}

impl Spec {
    /// VM exits one iteration must cost: `emulated` is whether its boot emulated VMFUNC.
    pub fn expected_exits(&self, emulated: bool) -> u64 {
        self.hypercall_exits + if emulated { self.switches } else { 0 }
    }
}

/// The suite in table order, with the scaling benchmark at each of `views`.
pub fn specs(views: &[usize]) -> Vec<Spec> {
    let spec = |id: &str, title: &str, boot, name, hypercall_exits, switches| Spec {
        id: id.into(),
        title: title.into(),
        boot,
        name,
        views: None,
        hypercall_exits,
        switches,
    };
    let mut all = vec![
        spec(
            "a",
            "plain function call (baseline)",
            BootKind::Gates,
            "call",
            0,
            0,
        ),
        spec(
            "b",
            "bare VMFUNC pair A->B->A",
            BootKind::Fixture,
            "vmfunc-pair",
            0,
            2,
        ),
        spec(
            "c0",
            "gate round trip, 0 args",
            BootKind::Gates,
            "gate-0",
            0,
            2,
        ),
        spec(
            "c2",
            "gate round trip, 2 args",
            BootKind::Gates,
            "gate-2",
            0,
            2,
        ),
        spec(
            "c6",
            "gate round trip, 6 args",
            BootKind::Gates,
            "gate-6",
            0,
            2,
        ),
        spec(
            "c0-raw",
            "gate round trip, 0 args, gate only (no SDK)",
            BootKind::Gates,
            "gate-raw",
            0,
            2,
        ),
        spec(
            "d",
            "gate round trip, callee sums 4 KiB grant",
            BootKind::Gates,
            "gate-4k",
            0,
            2,
        ),
        spec(
            "e",
            "VMCALL null hypercall (EXIT_COUNT)",
            BootKind::Gates,
            "vmcall",
            1,
            0,
        ),
        spec(
            "f",
            "emulated gate round trip, 0 args",
            BootKind::Emulated,
            "gate-0",
            0,
            2,
        ),
    ];
    for &n in views {
        all.push(Spec {
            views: Some(n),
            ..spec(
                &format!("g{n}"),
                &format!("gate round trip, round-robin, {n} views"),
                if n == 2 {
                    BootKind::Gates
                } else {
                    BootKind::Scaling(n)
                },
                "gate-rr",
                0,
                2,
            )
        });
    }
    all.push(spec(
        "h",
        "hypervisor-mediated switch round trip (SWITCH_VIEW)",
        BootKind::Fixture,
        "switch-view",
        2,
        0,
    ));
    all
}

/// The boots `specs` need, in the order they are started (largest first, so a parallel
/// run ends sooner).
pub fn boots(specs: &[Spec], switch: Option<SwitchMode>) -> Vec<BootKind> {
    let mut kinds: Vec<BootKind> = Vec::new();
    for s in specs {
        let kind = match s.boot {
            // With every boot emulated already, the gates boot is the emulated one.
            BootKind::Emulated if switch == Some(SwitchMode::Emulate) => BootKind::Gates,
            other => other,
        };
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    kinds.sort_by_key(|k| std::cmp::Reverse(views_of(*k)));
    kinds
}

pub(crate) fn views_of(kind: BootKind) -> usize {
    match kind {
        BootKind::Scaling(n) => n,
        BootKind::Fixture => 1,
        BootKind::Gates | BootKind::Emulated => 2,
    }
}

/// The gates declaration with its callee repeated: `callee-1` ... `callee-(views-1)`
/// (all the same package and exports), then the caller, allowed to call them all.
pub fn scaled(template: &Declaration, views: usize) -> Result<Declaration> {
    if !(2..=MAX_VIEWS).contains(&views) {
        bail!("a scaling run needs 2 to {MAX_VIEWS} views, not {views}");
    }
    let find = |name: &str| {
        template
            .compartments
            .iter()
            .find(|c| c.name == name)
            .with_context(|| format!("{} has no compartment {name}", template.file))
    };
    let callee = find(TEMPLATE_CALLEE)?;
    let mut caller = find(CALLER)?.clone();
    let mut compartments = Vec::with_capacity(views);
    for k in 1..views {
        let mut c = callee.clone();
        c.name = format!("callee-{k}");
        compartments.push(c);
    }
    caller.calls = compartments.iter().map(|c| c.name.clone()).collect();
    compartments.push(caller);
    let d = Declaration {
        file: format!("{} (scaled to {views} views)", template.file),
        kind: Kind::Scenario(format!("bench-gates-{views}")),
        compartments,
        grants: template.grants.clone(),
    };
    tessera_core::manifest::Manifest::parse(&d.manifest_text())
        .map_err(|e| anyhow::anyhow!("{}: {e}", d.file))?;
    Ok(d)
}

/// What one `@@BENCH` line says (its JSON, checked for the members every line has).
#[derive(Clone, Debug, PartialEq)]
pub struct BenchLine {
    pub compartment: String,
    pub name: String,
    pub iterations: u64,
    pub min: u64,
    pub median: u64,
    pub p99: u64,
    pub max: u64,
    /// Exits of the whole timed loop (`exits_per_iter[0]`).
    pub exits: u64,
    pub overhead: u64,
    pub views: Option<u64>,
    pub json: Json,
}

impl BenchLine {
    /// Parses the JSON of a `@@BENCH` line. Who measured is L1's word: the first member
    /// is `compartment` (L1 puts it there and refuses reports naming an identity key,
    /// `tessera_abi::transcript::IDENTITY_KEYS`), and no other member may name one.
    pub fn parse(text: &str) -> Result<BenchLine, String> {
        let json = Json::parse(text)?;
        let Json::Obj(members) = &json else {
            return Err(format!("@@BENCH {text}: not a JSON object"));
        };
        let identity = |k: &str| tessera_abi::transcript::IDENTITY_KEYS.contains(&k);
        let first = members.first().map(|(k, _)| k.as_str());
        if first != Some("compartment") || members[1..].iter().any(|(k, _)| identity(k)) {
            return Err(format!(
                "@@BENCH {text}: compartment must be the first member and no other member \
                 may name an identity key (the hypervisor writes them)"
            ));
        }
        let int = |key: &str| {
            json.get(key)
                .and_then(Json::as_u64)
                .ok_or_else(|| format!("@@BENCH {text}: no integer {key}"))
        };
        let string = |key: &str| {
            json.get(key)
                .and_then(Json::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("@@BENCH {text}: no string {key}"))
        };
        if string("engine_ticks")? != "tsc" {
            return Err(format!("@@BENCH {text}: engine_ticks is not \"tsc\""));
        }
        let ratio = json
            .get("exits_per_iter")
            .and_then(Json::as_array)
            .and_then(|r| match r {
                [exits, iterations] => Some((exits.as_u64()?, iterations.as_u64()?)),
                _ => None,
            })
            .ok_or_else(|| format!("@@BENCH {text}: exits_per_iter is not [exits,iterations]"))?;
        let iterations = int("iterations")?;
        if ratio.1 != iterations || iterations == 0 {
            return Err(format!(
                "@@BENCH {text}: exits_per_iter is not per {iterations} iterations"
            ));
        }
        Ok(BenchLine {
            compartment: string("compartment")?,
            name: string("name")?,
            iterations,
            min: int("min")?,
            median: int("median")?,
            p99: int("p99")?,
            max: int("max")?,
            exits: ratio.0,
            overhead: int("overhead")?,
            views: json.get("views").and_then(Json::as_u64),
            json,
        })
    }

    /// VM exits per iteration, exactly: `(exits, iterations)`.
    pub fn exits_per_iter(&self) -> (u64, u64) {
        (self.exits, self.iterations)
    }
}

/// What one boot produced.
#[derive(Clone, Debug)]
pub struct BootResult {
    pub kind: BootKind,
    pub kernel_args: String,
    /// `@@SWITCH mode=` (hardware or emulated), if the kernel got that far.
    pub mode: Option<String>,
    pub passed: bool,
    /// The verdict line, or why the boot did not start.
    pub summary: String,
    pub seconds: f64,
    pub run_dir: Option<PathBuf>,
    /// `@@BOOT memory_mib= free_mib=`.
    pub memory_mib: Option<(u64, u64)>,
    pub lines: Vec<BenchLine>,
    /// `@@BENCH` lines that did not parse.
    pub bad_lines: Vec<String>,
    /// The failure report of a failed boot.
    pub failure: Option<String>,
}

impl BootResult {
    pub(crate) fn from_outcome(
        kind: BootKind,
        kernel_args: String,
        outcome: &RunOutcome,
    ) -> BootResult {
        let t = &outcome.transcript;
        let mode = t
            .records("SWITCH")
            .find_map(|r| r.get("mode"))
            .map(str::to_owned);
        let memory_mib = t.records("BOOT").find_map(|r| {
            Some((
                r.get("memory_mib")?.parse().ok()?,
                r.get("free_mib")?.parse().ok()?,
            ))
        });
        let mut lines = Vec::new();
        let mut bad_lines = Vec::new();
        for r in t.records("BENCH") {
            match BenchLine::parse(&r.rest) {
                Ok(line) => lines.push(line),
                Err(e) => bad_lines.push(e),
            }
        }
        let passed = outcome.passed();
        BootResult {
            kind,
            kernel_args,
            mode,
            passed,
            summary: outcome.summary(),
            seconds: outcome.elapsed.as_secs_f64(),
            run_dir: Some(outcome.run_dir.clone()),
            memory_mib,
            lines,
            bad_lines,
            failure: (!passed).then(|| outcome.failure_report()),
        }
    }

    pub(crate) fn not_started(kind: BootKind, kernel_args: String, why: String) -> BootResult {
        BootResult {
            kind,
            kernel_args,
            mode: None,
            passed: false,
            summary: why.clone(),
            seconds: 0.0,
            run_dir: None,
            memory_mib: None,
            lines: Vec::new(),
            bad_lines: Vec::new(),
            failure: Some(why),
        }
    }

    fn to_json(&self) -> Json {
        let mut m = vec![
            ("id".into(), Json::str(self.kind.id())),
            ("kernel_args".into(), Json::str(self.kernel_args.clone())),
            (
                "switch".into(),
                self.mode.clone().map_or(Json::Null, Json::Str),
            ),
            ("passed".into(), Json::Bool(self.passed)),
            ("summary".into(), Json::str(self.summary.clone())),
            ("seconds".into(), Json::float(self.seconds, 1)),
        ];
        if let Some((total, free)) = self.memory_mib {
            m.push(("memory_mib".into(), Json::uint(total)));
            m.push(("free_mib".into(), Json::uint(free)));
        }
        if let Some(dir) = &self.run_dir {
            m.push(("run_dir".into(), Json::str(dir.display().to_string())));
        }
        m.push((
            "bench".into(),
            Json::Arr(self.lines.iter().map(|l| l.json.clone()).collect()),
        ));
        Json::Obj(m)
    }
}

/// A measured benchmark, or why there is no measurement.
#[derive(Clone, Debug)]
pub struct Entry {
    pub spec: Spec,
    /// The boot's switch mode (hardware or emulated).
    pub mode: Option<String>,
    pub result: Result<BenchLine, String>,
}

/// A whole run.
#[derive(Clone, Debug)]
pub struct Report {
    pub engine: Engine,
    /// The mode of the gates boot (`hardware`/`emulated`): the file's `<mode>`.
    pub mode: String,
    pub entries: Vec<Entry>,
    pub boots: Vec<BootResult>,
}

/// Matches each spec with its `@@BENCH` line in `boots`.
pub fn collect(
    engine: Engine,
    specs: &[Spec],
    switch: Option<SwitchMode>,
    boots: Vec<BootResult>,
) -> Report {
    let boot_of = |kind: BootKind| {
        let kind = match kind {
            BootKind::Emulated if switch == Some(SwitchMode::Emulate) => BootKind::Gates,
            other => other,
        };
        boots.iter().find(|b| b.kind == kind)
    };
    let entries = specs
        .iter()
        .map(|spec| {
            let Some(boot) = boot_of(spec.boot) else {
                return Entry {
                    spec: spec.clone(),
                    mode: None,
                    result: Err("its boot did not run".into()),
                };
            };
            let line = boot
                .lines
                .iter()
                .find(|l| {
                    l.name == spec.name && spec.views.is_none_or(|n| l.views == Some(n as u64))
                })
                .cloned();
            let result = match line {
                Some(line) => Ok(line),
                None if boot.passed => Err(format!(
                    "boot {} passed without a @@BENCH line named {}",
                    boot.kind.id(),
                    spec.name
                )),
                None => Err(format!("boot {} failed: {}", boot.kind.id(), boot.summary)),
            };
            Entry {
                spec: spec.clone(),
                mode: boot.mode.clone(),
                result,
            }
        })
        .collect();
    let mode = boot_of(BootKind::Gates)
        .and_then(|b| b.mode.clone())
        .unwrap_or_else(|| match switch {
            Some(SwitchMode::Emulate) => "emulated".into(),
            Some(SwitchMode::Hardware) => "hardware".into(),
            _ => "unknown".into(),
        });
    Report {
        engine,
        mode,
        entries,
        boots,
    }
}

/// `exits / iterations` for people: `0`, `1`, `2`, `0.0003`.
pub fn ratio_text(exits: u64, iterations: u64) -> String {
    if iterations == 0 {
        return "?".into();
    }
    if exits % iterations == 0 {
        return (exits / iterations).to_string();
    }
    let text = format!("{:.4}", exits as f64 / iterations as f64);
    text.trim_end_matches('0').to_owned()
}

/// What a TSC tick is on `engine`.
pub fn ticks_meaning(engine: &Engine) -> &'static str {
    match engine {
        Engine::Bochs { .. } => {
            "TSC ticks = instructions executed (Bochs, clock: sync=none), L1's included when the timed code exits"
        }
        Engine::Qemu { .. } | Engine::Uefi { .. } => {
            "TSC ticks under QEMU TCG follow the host clock, not the emulated work: not a time, compare only exits"
        }
        Engine::Kvm { .. } => "TSC ticks = CPU reference cycles (real hardware, nested under KVM)",
        Engine::NestedKvm { .. } => {
            "TSC ticks = instructions executed by the whole Bochs machine (Linux/KVM in L0, Tessera in L1, the compartments)"
        }
    }
}

impl Report {
    /// `bochs tigerlake`, `kvm host,+vmx`.
    pub fn engine_text(&self) -> String {
        format!("{} {}", self.engine.name(), self.engine.cpu())
    }

    /// Whether every benchmark was measured and every boot passed.
    pub fn complete(&self) -> bool {
        self.entries.iter().all(|e| e.result.is_ok()) && self.boots.iter().all(|b| b.passed)
    }

    /// The file stem: `<engine>-<cpu>-<mode>` (`bochs-tigerlake-hardware`).
    pub fn stem(&self) -> String {
        format!("{}-{}", self.engine.label(), self.mode)
    }

    /// The table, titled with engine, CPU model and switch mode.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Tessera switch latency: engine {}, CPU {}, switch mode {}",
            self.engine.name(),
            self.engine.cpu(),
            self.mode
        );
        let _ = writeln!(
            out,
            "per iteration, {ITERATIONS} iterations each, timer overhead subtracted; {}",
            ticks_meaning(&self.engine)
        );
        let _ = writeln!(
            out,
            "{:<7} {:<52} {:>5} {:>8} {:>8} {:>8} {:>8} {:>10}",
            "id", "benchmark", "views", "min", "median", "p99", "max", "exits/iter"
        );
        for e in &self.entries {
            let views = e.spec.views.unwrap_or(match e.spec.boot {
                BootKind::Fixture => 1,
                _ => 2,
            });
            let title = match (&e.mode, e.spec.boot) {
                (Some(mode), BootKind::Emulated) => format!("{} [{mode}]", e.spec.title),
                _ => e.spec.title.clone(),
            };
            match &e.result {
                Ok(l) => {
                    let (x, n) = l.exits_per_iter();
                    let _ = writeln!(
                        out,
                        "{:<7} {:<52} {:>5} {:>8} {:>8} {:>8} {:>8} {:>10}",
                        e.spec.id,
                        title,
                        views,
                        l.min,
                        l.median,
                        l.p99,
                        l.max,
                        ratio_text(x, n)
                    );
                }
                Err(_) => {
                    let _ = writeln!(
                        out,
                        "{:<7} {:<52} {:>5} {:>8} {:>8} {:>8} {:>8} {:>10}",
                        e.spec.id, title, views, "-", "-", "-", "-", "-"
                    );
                }
            }
        }
        let missing: Vec<&Entry> = self.entries.iter().filter(|e| e.result.is_err()).collect();
        if !missing.is_empty() {
            let _ = writeln!(out, "not measured:");
            for e in missing {
                if let Err(why) = &e.result {
                    let _ = writeln!(out, "  {}: {why}", e.spec.id);
                }
            }
        }
        out
    }

    /// The result file's content.
    pub fn to_json(&self) -> Json {
        let benchmarks = self
            .entries
            .iter()
            .filter_map(|e| {
                let l = e.result.as_ref().ok()?;
                let (x, n) = l.exits_per_iter();
                let mut m = vec![
                    ("id".into(), Json::str(e.spec.id.clone())),
                    ("title".into(), Json::str(e.spec.title.clone())),
                    ("boot".into(), Json::str(e.spec.boot.id())),
                    ("compartment".into(), Json::str(l.compartment.clone())),
                    ("name".into(), Json::str(l.name.clone())),
                    (
                        "switch".into(),
                        e.mode.clone().map_or(Json::Null, Json::Str),
                    ),
                ];
                if let Some(v) = e.spec.views {
                    m.push(("views".into(), Json::uint(v as u64)));
                }
                m.extend([
                    ("iterations".into(), Json::uint(l.iterations)),
                    ("min".into(), Json::uint(l.min)),
                    ("median".into(), Json::uint(l.median)),
                    ("p99".into(), Json::uint(l.p99)),
                    ("max".into(), Json::uint(l.max)),
                    ("overhead".into(), Json::uint(l.overhead)),
                    (
                        "exits_per_iter".into(),
                        Json::Arr(vec![Json::uint(x), Json::uint(n)]),
                    ),
                ]);
                Some(Json::Obj(m))
            })
            .collect();
        let missing = self
            .entries
            .iter()
            .filter_map(|e| {
                let why = e.result.as_ref().err()?;
                Some(Json::Obj(vec![
                    ("id".into(), Json::str(e.spec.id.clone())),
                    ("title".into(), Json::str(e.spec.title.clone())),
                    ("why".into(), Json::str(why.clone())),
                ]))
            })
            .collect();
        Json::Obj(vec![
            ("format".into(), Json::str("tessera-bench 1")),
            ("engine".into(), Json::str(self.engine.name())),
            ("cpu".into(), Json::str(self.engine.cpu())),
            ("switch".into(), Json::str(self.mode.clone())),
            ("engine_ticks".into(), Json::str("tsc")),
            (
                "ticks_meaning".into(),
                Json::str(ticks_meaning(&self.engine)),
            ),
            (
                "exits_per_iter_format".into(),
                Json::str("[exits of the timed loop, iterations]"),
            ),
            ("iterations".into(), Json::uint(ITERATIONS)),
            ("benchmarks".into(), Json::Arr(benchmarks)),
            ("missing".into(), Json::Arr(missing)),
            (
                "boots".into(),
                Json::Arr(self.boots.iter().map(BootResult::to_json).collect()),
            ),
        ])
    }

    /// The plot.
    pub fn svg(&self) -> String {
        let bars: Vec<svg::Bar> = self
            .entries
            .iter()
            .filter_map(|e| {
                let l = e.result.as_ref().ok()?;
                let (x, n) = l.exits_per_iter();
                Some(svg::Bar {
                    label: format!("{} {}", e.spec.id, e.spec.title),
                    min: l.min,
                    median: l.median,
                    p99: l.p99,
                    note: format!("({} exits/iter)", ratio_text(x, n)),
                })
            })
            .collect();
        svg::chart(
            &format!(
                "Tessera switch latency: {} {}, switch {}",
                self.engine.name(),
                self.engine.cpu(),
                self.mode
            ),
            ticks_meaning(&self.engine),
            &bars,
        )
    }

    /// Writes `dir/<stem>.json` and `dir/<stem>.svg`; returns both paths.
    pub fn write(&self, dir: &Path) -> Result<(PathBuf, PathBuf)> {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let json = dir.join(format!("{}.json", self.stem()));
        let svg = dir.join(format!("{}.svg", self.stem()));
        fs::write(&json, self.to_json().pretty())
            .with_context(|| format!("writing {}", json.display()))?;
        fs::write(&svg, self.svg()).with_context(|| format!("writing {}", svg.display()))?;
        Ok((json, svg))
    }
}

/// `target/bench/`.
pub fn out_dir() -> PathBuf {
    paths::target_dir().join("bench")
}

/// What to run.
#[derive(Clone, Debug)]
pub struct Plan {
    pub engine: Engine,
    pub switch: Option<SwitchMode>,
    pub views: Vec<usize>,
    /// Per boot; `None`: [`default_timeout`].
    pub timeout: Option<Duration>,
    /// Print progress on stderr.
    pub progress: bool,
}

/// Bochs needs about a second per 10 views to boot and GRUB to load the modules; the
/// benchmarks themselves take seconds.
pub fn default_timeout(engine: &Engine, views: usize) -> Duration {
    match engine {
        Engine::Bochs { .. } => Duration::from_secs(300 + views as u64),
        Engine::Qemu { .. } | Engine::Kvm { .. } | Engine::Uefi { .. } => {
            Duration::from_secs(120 + views as u64 / 4)
        }
        // Guest seconds inside the nested Linux (see crate::nested).
        Engine::NestedKvm { .. } => Duration::from_secs(300 + views as u64),
    }
}

fn switch_arg(mode: SwitchMode) -> &'static str {
    match mode {
        SwitchMode::Auto => "switch=auto",
        SwitchMode::Hardware => "switch=hardware",
        SwitchMode::Emulate => "switch=emulate",
    }
}

/// The kernel command line of boot `kind`.
pub fn kernel_args(kind: BootKind, switch: Option<SwitchMode>) -> String {
    let mut words: Vec<&str> = Vec::new();
    if kind == BootKind::Fixture {
        words.push("conformance=1");
    }
    match (kind, switch) {
        (BootKind::Emulated, _) => words.push(switch_arg(SwitchMode::Emulate)),
        (_, Some(mode)) => words.push(switch_arg(mode)),
        (_, None) => {}
    }
    words.join(" ")
}

/// `objcopy --strip-debug`: compartment ELFs carry ~1 MB of debug info, which GRUB would
/// load once per module (hundreds of times in the scaling runs).
fn stripped(elf: &Path, dir: &Path) -> Result<PathBuf> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = elf.file_name().context("an ELF path without a file name")?;
    let out = dir.join(name).with_extension("elf");
    // Through a file of this run's own, so a concurrent run never boots half an ELF.
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let partial = out.with_extension(format!(
        "elf.{}-{}.partial",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let output = Command::new("objcopy")
        .arg("--strip-debug")
        .arg(elf)
        .arg(&partial)
        .output()
        .context("running objcopy")?;
    if !output.status.success() {
        bail!(
            "objcopy --strip-debug {} failed: {}",
            elf.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    fs::rename(&partial, &out).with_context(|| format!("writing {}", out.display()))?;
    Ok(out)
}

/// The gates declaration.
pub fn gates_declaration() -> Result<Declaration> {
    let dir = paths::workspace_root().join(GATES_DECLARATION);
    let shown = format!("{GATES_DECLARATION}/{}", crate::declaration::FILE_NAME);
    Ok(Declaration::load(
        &dir.join(crate::declaration::FILE_NAME),
        &shown,
        Kind::Scenario("bench-gates".into()),
    )?)
}

/// The modules of declaration `d`, with the ELF of each package from `elves`.
fn declaration_modules(d: &Declaration, elves: &HashMap<String, PathBuf>) -> Result<Vec<Module>> {
    let mut modules = Vec::with_capacity(d.compartments.len() + 1);
    for c in &d.compartments {
        let package = d.package_of(c);
        let elf = elves
            .get(&package)
            .with_context(|| format!("package {package} was not built"))?;
        modules.push(Module::new(elf.clone(), &c.name).with_args(Declaration::module_args(c)));
    }
    modules.push(Module::new(write_manifest(d)?, MANIFEST_MODULE));
    Ok(modules)
}

/// The image of every boot `plan` needs (an `Err` image: why it cannot be made), with
/// the kernel and the benchmark packages built.
pub fn images(plan: &Plan) -> Result<Vec<(BootKind, Result<Image, String>)>> {
    for &n in &plan.views {
        if !(2..=MAX_VIEWS).contains(&n) {
            bail!("--views: {n} is not in 2..={MAX_VIEWS}");
        }
    }
    let kinds = boots(&specs(&plan.views), plan.switch);
    let template = gates_declaration()?;
    let kernel = kernel::build()?;
    let mut packages = template.packages();
    packages.push(FIXTURE_PACKAGE.into());
    if plan.progress {
        eprintln!("building {}…", packages.join(", "));
    }
    let built = kernel::build_packages(&packages, crate::vmfunc_check::allowance)?;
    let modules_dir = out_dir().join("modules");
    let mut elves = HashMap::new();
    for (package, elf) in packages.iter().zip(&built) {
        elves.insert(package.clone(), stripped(elf, &modules_dir)?);
    }
    let mut images = Vec::new();
    for &kind in &kinds {
        let args = kernel_args(kind, plan.switch);
        let modules = match kind {
            BootKind::Fixture => Ok(vec![Module::new(
                elves[FIXTURE_PACKAGE].clone(),
                FIXTURE_PACKAGE,
            )]),
            BootKind::Gates | BootKind::Emulated => declaration_modules(&template, &elves),
            BootKind::Scaling(n) => {
                scaled(&template, n).and_then(|d| declaration_modules(&d, &elves))
            }
        };
        let image = modules
            .map(|modules| Image {
                modules,
                ..Image::new(kernel.elf32.clone(), args)
            })
            .map_err(|e| format!("{e:#}"));
        images.push((kind, image));
    }
    Ok(images)
}

/// `--iso DIR`: one bootable GRUB ISO per boot (`DIR/<boot>.iso`), for bare metal.
pub fn write_isos(plan: &Plan, dir: &Path) -> Result<Vec<PathBuf>> {
    tools::ensure(&tools::for_engine(&plan.engine), Install::IfRoot)?;
    let mut written = Vec::new();
    for (kind, image) in images(plan)? {
        let image = image.map_err(anyhow::Error::msg)?;
        let staging = dir.join(format!("{}.staging", kind.id()));
        fs::create_dir_all(&staging).with_context(|| format!("creating {}", staging.display()))?;
        let iso = crate::image::make_iso(&image, &staging)?;
        let to = dir.join(format!("{}.iso", kind.id()));
        fs::rename(&iso, &to).with_context(|| format!("writing {}", to.display()))?;
        fs::remove_dir_all(&staging)?;
        written.push(to);
    }
    Ok(written)
}

/// Builds everything and boots every boot `plan` needs; never fails on a failed boot
/// (that benchmark is then missing from the report).
pub fn run(plan: &Plan) -> Result<Report> {
    tools::ensure(&tools::for_engine(&plan.engine), Install::IfRoot)?;
    let specs = specs(&plan.views);
    let images = images(plan)?;
    if let Engine::NestedKvm { .. } = plan.engine {
        let results = layers::boot_nested(plan, &images);
        return Ok(collect(plan.engine.clone(), &specs, plan.switch, results));
    }

    // Bochs and TCG count work, not time: boots may share the machine. On KVM they would
    // disturb each other's cycles, so they run one at a time.
    let parallel = !matches!(plan.engine, Engine::Kvm { .. } | Engine::NestedKvm { .. });
    let total = images.len();
    let done = AtomicBool::new(false);
    let running: Mutex<Vec<(String, Instant)>> = Mutex::new(Vec::new());
    let started = Instant::now();
    let boot_one = |index: usize, kind: BootKind, image: &Result<Image, String>| {
        let args = kernel_args(kind, plan.switch);
        let image = match image {
            Ok(image) => image.clone(),
            Err(e) => return BootResult::not_started(kind, args, e.clone()),
        };
        let views = views_of(kind);
        let timeout = plan
            .timeout
            .unwrap_or_else(|| default_timeout(&plan.engine, views));
        if plan.progress {
            eprintln!(
                "[{}/{total}] boot {} ({views} view(s), {} module(s), kernel args {:?}) on {}…",
                index + 1,
                kind.id(),
                image.modules.len(),
                args,
                plan.engine.label()
            );
        }
        running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((kind.id(), Instant::now()));
        let spec = RunSpec {
            engine: plan.engine.clone(),
            image,
            timeout,
            echo: Echo::Quiet,
        };
        let result = match runner::run(&spec) {
            Ok(outcome) => BootResult::from_outcome(kind, args, &outcome),
            Err(e) => BootResult::not_started(kind, args, format!("{e:#}")),
        };
        running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(id, _)| *id != kind.id());
        if plan.progress {
            eprintln!(
                "[{}/{total}] boot {}: {} in {:.1} s, {} @@BENCH line(s)",
                index + 1,
                kind.id(),
                if result.passed { "passed" } else { "FAILED" },
                result.seconds,
                result.lines.len()
            );
        }
        result
    };
    let results: Vec<BootResult> = std::thread::scope(|s| {
        if plan.progress {
            s.spawn(|| {
                let mut last = Instant::now();
                while !done.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(200));
                    if last.elapsed() < HEARTBEAT {
                        continue;
                    }
                    last = Instant::now();
                    let now = running.lock().unwrap_or_else(|e| e.into_inner()).clone();
                    let list: Vec<String> = now
                        .iter()
                        .map(|(id, at)| format!("{id} ({} s)", at.elapsed().as_secs()))
                        .collect();
                    if !list.is_empty() {
                        eprintln!(
                            "… {} s in; still running (or waiting for an emulator): {}",
                            started.elapsed().as_secs(),
                            list.join(", ")
                        );
                    }
                }
            });
        }
        let results = if parallel {
            let handles: Vec<_> = images
                .iter()
                .enumerate()
                .map(|(i, (kind, image))| {
                    let boot_one = &boot_one;
                    s.spawn(move || boot_one(i, *kind, image))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        } else {
            images
                .iter()
                .enumerate()
                .map(|(i, (kind, image))| boot_one(i, *kind, image))
                .collect()
        };
        done.store(true, Ordering::Relaxed);
        results
    });
    Ok(collect(plan.engine.clone(), &specs, plan.switch, results))
}

/// Checks a report against the suite: every benchmark measured, and each one's exits per
/// iteration what its switches and hypercalls cost in its boot's mode. Structure only,
/// never timing. Returns the problems found.
pub fn check(report: &Report) -> Vec<String> {
    let mut problems = Vec::new();
    for b in &report.boots {
        if !b.passed {
            problems.push(format!("boot {} failed: {}", b.kind.id(), b.summary));
        }
        for bad in &b.bad_lines {
            problems.push(format!("boot {}: {bad}", b.kind.id()));
        }
    }
    for e in &report.entries {
        let line = match &e.result {
            Ok(line) => line,
            Err(why) => {
                problems.push(format!("{} ({}): {why}", e.spec.id, e.spec.title));
                continue;
            }
        };
        let emulated = e.mode.as_deref() == Some("emulated");
        let want = e.spec.expected_exits(emulated);
        let (exits, n) = line.exits_per_iter();
        if n != ITERATIONS || exits != want * n {
            problems.push(format!(
                "{} ({}): {exits} exits in {n} iterations, expected {want} per iteration ({} switching)",
                e.spec.id,
                e.spec.title,
                e.mode.as_deref().unwrap_or("unknown")
            ));
        }
        if !(line.min <= line.median && line.median <= line.p99 && line.p99 <= line.max) {
            problems.push(format!(
                "{}: min {} median {} p99 {} max {} are out of order",
                e.spec.id, line.min, line.median, line.p99, line.max
            ));
        }
    }
    problems
}

/// The per-benchmark comparison of two result files: B/A of median and min.
pub fn compare(a: &Json, b: &Json, a_name: &str, b_name: &str) -> Result<String> {
    let describe = |j: &Json| {
        let field = |k: &str| j.get(k).and_then(Json::as_str).unwrap_or("?").to_owned();
        format!(
            "{} {} switch {}",
            field("engine"),
            field("cpu"),
            field("switch")
        )
    };
    let benchmarks = |j: &Json, name: &str| -> Result<Vec<Json>> {
        j.get("benchmarks")
            .and_then(Json::as_array)
            .map(<[Json]>::to_vec)
            .with_context(|| format!("{name} has no \"benchmarks\" array"))
    };
    let (list_a, list_b) = (benchmarks(a, a_name)?, benchmarks(b, b_name)?);
    let id = |j: &Json| j.get("id").and_then(Json::as_str).map(str::to_owned);
    let num = |j: &Json, k: &str| j.get(k).and_then(Json::as_u64);
    let exits = |j: &Json| {
        j.get("exits_per_iter")
            .and_then(Json::as_array)
            .and_then(|r| Some(ratio_text(r.first()?.as_u64()?, r.get(1)?.as_u64()?)))
            .unwrap_or_else(|| "?".into())
    };
    let ratio = |x: Option<u64>, y: Option<u64>| match (x, y) {
        (Some(x), Some(y)) if x > 0 => format!("{:.2}", y as f64 / x as f64),
        (Some(0), Some(0)) => "1.00".into(),
        _ => "-".into(),
    };
    let mut out = String::new();
    let _ = writeln!(out, "A = {a_name}: {}", describe(a));
    let _ = writeln!(out, "B = {b_name}: {}", describe(b));
    let _ = writeln!(
        out,
        "{:<7} {:<52} {:>9} {:>9} {:>7} {:>8} {:>8} {:>7} {:>8} {:>8}",
        "id",
        "benchmark",
        "median A",
        "median B",
        "B/A",
        "min A",
        "min B",
        "B/A",
        "exits A",
        "exits B"
    );
    let mut ids: Vec<String> = list_a.iter().filter_map(id).collect();
    for j in &list_b {
        if let Some(i) = id(j) {
            if !ids.contains(&i) {
                ids.push(i);
            }
        }
    }
    for i in ids {
        let find = |list: &[Json]| list.iter().find(|j| id(j).as_deref() == Some(&i)).cloned();
        let (ja, jb) = (find(&list_a), find(&list_b));
        let title = ja
            .as_ref()
            .or(jb.as_ref())
            .and_then(|j| j.get("title").and_then(Json::as_str))
            .unwrap_or("")
            .to_owned();
        let get = |j: &Option<Json>, k: &str| j.as_ref().and_then(|j| num(j, k));
        let show = |v: Option<u64>| v.map_or("-".into(), |v| v.to_string());
        let _ = writeln!(
            out,
            "{:<7} {:<52} {:>9} {:>9} {:>7} {:>8} {:>8} {:>7} {:>8} {:>8}",
            i,
            title,
            show(get(&ja, "median")),
            show(get(&jb, "median")),
            ratio(get(&ja, "median"), get(&jb, "median")),
            show(get(&ja, "min")),
            show(get(&jb, "min")),
            ratio(get(&ja, "min"), get(&jb, "min")),
            ja.as_ref().map_or("-".into(), exits),
            jb.as_ref().map_or("-".into(), exits),
        );
    }
    Ok(out)
}

fn read_json(path: &Path) -> Result<Json> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Json::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// `cargo xtask bench`: true when every benchmark was measured (or the comparison was
/// printed).
pub fn command(args: &BenchArgs) -> Result<bool> {
    if let Some(files) = &args.compare {
        let [a, b] = files.as_slice() else {
            bail!("--compare takes two files");
        };
        let text = compare(
            &read_json(a)?,
            &read_json(b)?,
            &a.display().to_string(),
            &b.display().to_string(),
        )?;
        print!("{text}");
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
    if let Some(dir) = &args.iso {
        for iso in write_isos(&plan, dir)? {
            println!("wrote {}", iso.display());
        }
        return Ok(true);
    }
    if let Engine::NestedKvm { .. } = plan.engine {
        return layers::command(&plan);
    }
    present(&run(&plan)?)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn line(name: &str, exits: u64, extra: &str) -> String {
        format!(
            r#"{{"compartment":"bench","name":"{name}","engine_ticks":"tsc","iterations":10000,"min":10,"median":12,"p99":15,"max":90,"exits_per_iter":[{exits},10000],"overhead":4{extra}}}"#
        )
    }

    fn boot(kind: BootKind, mode: &str, lines: &[String]) -> BootResult {
        BootResult {
            kind,
            kernel_args: String::new(),
            mode: Some(mode.into()),
            passed: true,
            summary: "@@RESULT pass".into(),
            seconds: 1.0,
            run_dir: None,
            memory_mib: Some((256, 200)),
            lines: lines.iter().map(|l| BenchLine::parse(l).unwrap()).collect(),
            bad_lines: Vec::new(),
            failure: None,
        }
    }

    fn bochs() -> Engine {
        Engine::Bochs {
            cpu: "tigerlake".into(),
        }
    }

    /// Every boot of a hardware run, each line with the exits it should have.
    fn hardware_boots(views: &[usize]) -> Vec<BootResult> {
        let gates: Vec<String> = ["call", "gate-0", "gate-2", "gate-6", "gate-raw", "gate-4k"]
            .iter()
            .map(|n| line(n, 0, ""))
            .chain([
                line("vmcall", 10_000, ""),
                line("gate-rr", 0, r#","views":2"#),
            ])
            .collect();
        let emulated: Vec<String> = vec![line("gate-0", 20_000, "")];
        let fixture = vec![line("vmfunc-pair", 0, ""), line("switch-view", 20_000, "")];
        let mut boots = vec![
            boot(BootKind::Gates, "hardware", &gates),
            boot(BootKind::Fixture, "hardware", &fixture),
            boot(BootKind::Emulated, "emulated", &emulated),
        ];
        for &n in views.iter().filter(|n| **n != 2) {
            let rr = line("gate-rr", 0, &format!(r#","views":{n}"#));
            boots.push(boot(BootKind::Scaling(n), "hardware", &[rr]));
        }
        boots
    }

    #[test]
    fn the_suite_has_every_benchmark_of_the_issue() {
        let ids: Vec<String> = specs(&DEFAULT_VIEWS).into_iter().map(|s| s.id).collect();
        assert_eq!(
            ids,
            [
                "a", "b", "c0", "c2", "c6", "c0-raw", "d", "e", "f", "g2", "g16", "g128", "g511",
                "h"
            ]
        );
        let kinds = boots(&specs(&DEFAULT_VIEWS), None);
        assert_eq!(
            kinds,
            [
                BootKind::Scaling(511),
                BootKind::Scaling(128),
                BootKind::Scaling(16),
                BootKind::Gates,
                BootKind::Emulated,
                BootKind::Fixture
            ]
        );
        let emulate_all = boots(&specs(&[2]), Some(SwitchMode::Emulate));
        assert_eq!(emulate_all, [BootKind::Gates, BootKind::Fixture]);
        assert_eq!(kernel_args(BootKind::Fixture, None), "conformance=1");
        assert_eq!(
            kernel_args(BootKind::Emulated, Some(SwitchMode::Hardware)),
            "switch=emulate"
        );
        assert_eq!(
            kernel_args(BootKind::Scaling(16), Some(SwitchMode::Hardware)),
            "switch=hardware"
        );
    }

    #[test]
    fn bench_lines_parse_and_bad_ones_say_why() {
        let l = BenchLine::parse(&line("gate-rr", 0, r#","views":16"#)).unwrap();
        assert_eq!(
            (l.name.as_str(), l.median, l.views, l.exits_per_iter()),
            ("gate-rr", 12, Some(16), (0, 10_000))
        );
        let wrong_ratio = line("x", 0, "").replace("[0,10000]", "[0,10]");
        assert!(
            BenchLine::parse(&wrong_ratio)
                .unwrap_err()
                .contains("exits_per_iter")
        );
        let no_min = line("x", 0, "").replace(r#""min":10,"#, "");
        assert!(BenchLine::parse(&no_min).unwrap_err().contains("min"));
        let ticks = line("x", 0, "").replace("tsc", "ns");
        assert!(BenchLine::parse(&ticks).is_err());
        // Identity comes from L1 only: first, and once.
        let forged = line("x", 0, r#","compartment":"victim""#);
        assert!(BenchLine::parse(&forged).unwrap_err().contains("identity"));
        let moved = line("x", 0, "")
            .replace(r#""compartment":"bench","#, "")
            .replace('}', r#","compartment":"bench"}"#);
        assert!(
            BenchLine::parse(&moved)
                .unwrap_err()
                .contains("first member")
        );
        let cpu = line("x", 0, r#","cpu":0"#);
        assert!(BenchLine::parse(&cpu).is_err());
        assert_eq!(ratio_text(0, 10_000), "0");
        assert_eq!(ratio_text(20_000, 10_000), "2");
        assert_eq!(ratio_text(3, 10_000), "0.0003");
    }

    #[test]
    fn a_complete_hardware_run_checks_clean_and_round_trips_through_json() {
        let views = [2, 16];
        let specs = specs(&views);
        let report = collect(bochs(), &specs, None, hardware_boots(&views));
        assert!(report.complete(), "{}", report.table());
        assert_eq!(check(&report), Vec::<String>::new());
        assert_eq!(report.stem(), "bochs-tigerlake-hardware");
        let table = report.table();
        assert!(
            table.starts_with(
                "Tessera switch latency: engine bochs, CPU tigerlake, switch mode hardware"
            ),
            "{table}"
        );
        assert!(
            table.contains("g16") && !table.contains("not measured"),
            "{table}"
        );
        let json = Json::parse(&report.to_json().pretty()).unwrap();
        let ids: Vec<&str> = json
            .get("benchmarks")
            .and_then(Json::as_array)
            .unwrap()
            .iter()
            .filter_map(|b| b.get("id").and_then(Json::as_str))
            .collect();
        assert_eq!(
            ids,
            [
                "a", "b", "c0", "c2", "c6", "c0-raw", "d", "e", "f", "g2", "g16", "h"
            ]
        );
        let same = compare(&json, &json, "a.json", "b.json").unwrap();
        assert!(
            same.contains("1.00") && same.lines().count() == 3 + ids.len(),
            "{same}"
        );
        assert!(
            report
                .svg()
                .contains("g16 gate round trip, round-robin, 16 views")
        );
    }

    #[test]
    fn wrong_exit_counts_and_failed_boots_are_reported() {
        let views = [2, 511];
        let specs = specs(&views);
        let mut boots = hardware_boots(&[2]);
        boots[0].lines[1].exits = 20_000; // gate-0 exited: not hardware switching
        boots.push(BootResult::not_started(
            BootKind::Scaling(511),
            String::new(),
            "multiboot: too many modules".into(),
        ));
        let report = collect(bochs(), &specs, None, boots);
        assert!(!report.complete());
        let problems = check(&report).join("\n");
        assert!(
            problems.contains("c0 (gate round trip, 0 args): 20000 exits"),
            "{problems}"
        );
        assert!(
            problems.contains("g511") && problems.contains("too many modules"),
            "{problems}"
        );
        let table = report.table();
        assert!(
            table.contains("not measured:\n  g511: boot views-511 failed"),
            "{table}"
        );
        let json = report.to_json();
        assert_eq!(
            json.get("missing")
                .and_then(Json::as_array)
                .map(<[Json]>::len),
            Some(1)
        );
    }

    #[test]
    fn emulated_runs_expect_one_exit_per_switch() {
        let specs = specs(&[2]);
        let spec = |id: &str| specs.iter().find(|s| s.id == id).unwrap().clone();
        assert_eq!(spec("c0").expected_exits(false), 0);
        assert_eq!(spec("c0").expected_exits(true), 2);
        assert_eq!(spec("f").expected_exits(true), 2);
        assert_eq!(spec("b").expected_exits(true), 2);
        assert_eq!(spec("e").expected_exits(true), 1);
        assert_eq!(spec("h").expected_exits(false), 2);
        // With --switch emulate the emulated benchmark comes from the gates boot.
        let gates: Vec<String> = ["call", "gate-0", "gate-2", "gate-6", "gate-raw", "gate-4k"]
            .iter()
            .map(|n| line(n, if *n == "call" { 0 } else { 20_000 }, ""))
            .chain([
                line("vmcall", 10_000, ""),
                line("gate-rr", 20_000, r#","views":2"#),
            ])
            .collect();
        let fixture = vec![
            line("vmfunc-pair", 20_000, ""),
            line("switch-view", 20_000, ""),
        ];
        let report = collect(
            bochs(),
            &specs,
            Some(SwitchMode::Emulate),
            vec![
                boot(BootKind::Gates, "emulated", &gates),
                boot(BootKind::Fixture, "emulated", &fixture),
            ],
        );
        assert_eq!(check(&report), Vec::<String>::new());
        assert_eq!(report.stem(), "bochs-tigerlake-emulated");
    }

    #[test]
    fn scaling_repeats_the_callee_and_lets_the_caller_call_them_all() {
        let template = gates_declaration().unwrap();
        let d = scaled(&template, 16).unwrap();
        let names: Vec<&str> = d.compartments.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names.len(), 16);
        assert_eq!(names[0], "callee-1");
        assert_eq!(names[14], "callee-15");
        assert_eq!(names[15], CALLER);
        assert_eq!(d.compartments[15].calls.len(), 15);
        assert_eq!(d.packages(), ["bench-callee", "bench-gate"]);
        let big = scaled(&template, MAX_VIEWS).unwrap();
        assert_eq!(big.compartments.len(), MAX_VIEWS);
        assert!(scaled(&template, 1).is_err() && scaled(&template, 512).is_err());
        let two = scaled(&template, 2).unwrap();
        assert_eq!(two.manifest_text(), template.manifest_text());
    }
}
