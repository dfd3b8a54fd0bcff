//! What a benchmark run found: each boot's result ([`BootResult`], read from its
//! transcript), each benchmark matched with its `@@BENCH` line ([`collect`]), and the
//! structural check of the whole ([`check`]: every benchmark measured, each costing the
//! VM exits it must; never timing).

use super::line::BenchLine;
use super::suite::{Benchmark, BootKind};
use crate::commands::SwitchMode;
use crate::engine::Engine;
use crate::qemu::Clock;
use crate::runner::BootOutcome;
use std::path::PathBuf;

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
    /// Reads the boot's `@@SWITCH`, `@@BOOT` and `@@BENCH` lines and its verdict.
    pub fn from_outcome(kind: BootKind, kernel_args: String, outcome: &BootOutcome) -> Self {
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

    /// A boot that never started, and why.
    pub fn not_started(kind: BootKind, kernel_args: String, why: String) -> BootResult {
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
}

/// A measured benchmark, or why there is no measurement.
#[derive(Clone, Debug)]
pub struct Entry {
    pub benchmark: Benchmark,
    /// The boot's switch mode (hardware or emulated).
    pub mode: Option<String>,
    pub result: Result<BenchLine, String>,
}

/// A whole benchmark run.
#[derive(Clone, Debug)]
pub struct Report {
    pub engine: Engine,
    /// The clock of a TCG engine (what its ticks are); [`Clock::Instructions`] elsewhere.
    pub clock: Clock,
    /// The mode of the gates boot (`hardware`/`emulated`): the file's `<mode>`.
    pub mode: String,
    pub entries: Vec<Entry>,
    pub boots: Vec<BootResult>,
}

impl Report {
    /// `bochs tigerlake`, `kvm host,+vmx`.
    pub fn engine_text(&self) -> String {
        format!("{} {}", self.engine.name(), self.engine.cpu())
    }

    /// `, clock icount` on TCG (what its ticks follow: docs/engines.md); empty elsewhere.
    pub fn clock_text(&self) -> String {
        match self.engine {
            Engine::Qemu { .. } | Engine::Uefi { .. } => format!(", clock {}", self.clock.name()),
            _ => String::new(),
        }
    }

    /// Whether every benchmark was measured and every boot passed.
    pub fn complete(&self) -> bool {
        self.entries.iter().all(|e| e.result.is_ok()) && self.boots.iter().all(|b| b.passed)
    }

    /// The file stem: `<engine>-<cpu>-<mode>` (`bochs-tigerlake-hardware`).
    pub fn stem(&self) -> String {
        format!("{}-{}", self.engine.label(), self.mode)
    }
}

/// Benchmark `b`'s line in `boot`, or why there is none.
fn line_of(b: &Benchmark, boot: &BootResult) -> Result<BenchLine, String> {
    let found = boot
        .lines
        .iter()
        .find(|l| l.name == b.name && b.views.is_none_or(|n| l.views == Some(n as u64)));
    match found {
        Some(line) => Ok(line.clone()),
        None if boot.passed => Err(format!(
            "boot {} passed without a @@BENCH line named {}",
            boot.kind.id(),
            b.name
        )),
        None => Err(format!("boot {} failed: {}", boot.kind.id(), boot.summary)),
    }
}

/// Matches each benchmark of `suite` with its `@@BENCH` line in `boots`.
pub fn collect(
    engine: Engine,
    suite: &[Benchmark],
    switch: Option<SwitchMode>,
    boots: Vec<BootResult>,
) -> Report {
    let boot_of = |kind: BootKind| {
        let kind = kind.booted_as(switch);
        boots.iter().find(|b| b.kind == kind)
    };
    let entries = suite
        .iter()
        .map(|b| match boot_of(b.boot) {
            Some(boot) => Entry {
                benchmark: b.clone(),
                mode: boot.mode.clone(),
                result: line_of(b, boot),
            },
            None => Entry {
                benchmark: b.clone(),
                mode: None,
                result: Err("its boot did not run".into()),
            },
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
        clock: Clock::default(),
        mode,
        entries,
        boots,
    }
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
        let (id, title) = (&e.benchmark.id, &e.benchmark.title);
        let line = match &e.result {
            Ok(line) => line,
            Err(why) => {
                problems.push(format!("{id} ({title}): {why}"));
                continue;
            }
        };
        let emulated = e.mode.as_deref() == Some("emulated");
        let want = e.benchmark.expected_exits(emulated);
        let (exits, n) = line.exits_per_iter();
        if n != e.benchmark.iterations || exits != want * n {
            problems.push(format!(
                "{id} ({title}): {exits} exits in {n} iterations, expected {want} per iteration ({} switching)",
                e.mode.as_deref().unwrap_or("unknown")
            ));
        }
        if !(line.min <= line.median && line.median <= line.p99 && line.p99 <= line.max) {
            problems.push(format!(
                "{id}: min {} median {} p99 {} max {} are out of order",
                line.min, line.median, line.p99, line.max
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::fixtures::{bochs, boot, hardware_boots, line, restart_line};
    use crate::bench::suite::suite;

    #[test]
    fn a_complete_hardware_run_checks_clean() {
        let views = [2, 16];
        let report = collect(bochs(), &suite(&views), None, hardware_boots(&views));
        assert!(report.complete());
        assert_eq!(check(&report), Vec::<String>::new());
        assert_eq!(report.stem(), "bochs-tigerlake-hardware");
        assert_eq!(report.engine_text(), "bochs tigerlake");
    }

    #[test]
    fn wrong_exit_counts_and_failed_boots_are_reported() {
        let views = [2, 511];
        let mut boots = hardware_boots(&[2]);
        boots[0].lines[1].exits = 20_000; // gate-0 exited: not hardware switching
        boots[0].lines[0].min = 99; // call: min above median
        boots.push(BootResult::not_started(
            BootKind::Scaling(511),
            String::new(),
            "multiboot: too many modules".into(),
        ));
        let report = collect(bochs(), &suite(&views), None, boots);
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
        assert!(problems.contains("a: min 99 median 12"), "{problems}");
    }

    #[test]
    fn a_passed_boot_without_the_line_and_a_missing_boot_say_so() {
        let report = collect(
            bochs(),
            &suite(&[2]),
            None,
            vec![boot(BootKind::Gates, "hardware", &[line("call", 0, "")])],
        );
        let why = |id: &str| {
            let e = report.entries.iter().find(|e| e.benchmark.id == id);
            e.unwrap().result.clone().unwrap_err()
        };
        assert_eq!(
            why("c0"),
            "boot gates passed without a @@BENCH line named gate-0"
        );
        assert_eq!(why("b"), "its boot did not run");
    }

    #[test]
    fn with_switch_emulate_the_gates_boot_is_the_emulated_one() {
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
        // A restart costs the fault and, emulated, the call's switch.
        let restarts: Vec<String> = [0, 64, 256].iter().map(|&n| restart_line(n, 200)).collect();
        let report = collect(
            bochs(),
            &suite(&[2]),
            Some(SwitchMode::Emulate),
            vec![
                boot(BootKind::Gates, "emulated", &gates),
                boot(BootKind::Fixture, "emulated", &fixture),
                boot(BootKind::Restart, "emulated", &restarts),
            ],
        );
        assert_eq!(check(&report), Vec::<String>::new());
        assert_eq!(report.stem(), "bochs-tigerlake-emulated");
    }
}
