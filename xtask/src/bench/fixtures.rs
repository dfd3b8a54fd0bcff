//! Recorded-shape data for the benchmark module's host tests: `@@BENCH` lines as the
//! benchmark kit writes them, boots that produced them, and a fixed report.

use super::line::BenchLine;
use super::report::{BootResult, Report, collect};
use super::suite::{BootKind, suite};
use crate::engine::Engine;

/// A `@@BENCH` line of benchmark `name`: 10/12/15/90 ticks, `exits` in 10,000
/// iterations, `extra` members appended (`,"views":16`).
pub fn line(name: &str, exits: u64, extra: &str) -> String {
    format!(
        r#"{{"compartment":"bench","name":"{name}","engine_ticks":"tsc","iterations":10000,"min":10,"median":12,"p99":15,"max":90,"exits_per_iter":[{exits},10000],"overhead":4{extra}}}"#
    )
}

/// A `@@BENCH` line of restart benchmark `restart-N`: `exits` in 100 iterations.
pub fn restart_line(pages: u64, exits: u64) -> String {
    format!(
        r#"{{"compartment":"bench","name":"restart-{pages}","engine_ticks":"tsc","iterations":100,"min":10,"median":12,"p99":15,"max":90,"exits_per_iter":[{exits},100],"overhead":4,"pages":{pages}}}"#
    )
}

/// A passed boot in switch mode `mode` that printed `lines`.
pub fn boot(kind: BootKind, mode: &str, lines: &[String]) -> BootResult {
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

pub fn bochs() -> Engine {
    Engine::Bochs {
        cpu: "tigerlake".into(),
    }
}

/// Every boot of a hardware run, each line with the exits it should have.
pub fn hardware_boots(views: &[usize]) -> Vec<BootResult> {
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
    let restarts: Vec<String> = [0, 64, 256].iter().map(|&n| restart_line(n, 100)).collect();
    let mut boots = vec![
        boot(BootKind::Gates, "hardware", &gates),
        boot(BootKind::Fixture, "hardware", &fixture),
        boot(BootKind::Emulated, "emulated", &emulated),
        boot(BootKind::Restart, "hardware", &restarts),
    ];
    for &n in views.iter().filter(|n| **n != 2) {
        let rr = line("gate-rr", 0, &format!(r#","views":{n}"#));
        boots.push(boot(BootKind::Scaling(n), "hardware", &[rr]));
    }
    boots
}

/// A fixed QEMU report: every benchmark at views 2 and 16 measured except g16, whose
/// boot did not start; the gates boot ran 1.25 s in `/x/run`.
pub fn qemu_report() -> Report {
    let mut boots = hardware_boots(&[2]);
    for b in &mut boots {
        b.kernel_args = "switch=hardware".into();
        b.seconds = 1.25;
        b.run_dir = Some("/x/run".into());
    }
    boots.push(BootResult::not_started(
        BootKind::Scaling(16),
        "switch=hardware".into(),
        "no \"modules\"".into(),
    ));
    let engine = Engine::Qemu {
        cpu: "qemu64,+svm,+npt".into(),
    };
    let switch = Some(crate::commands::SwitchMode::Hardware);
    collect(engine, &suite(&[2, 16]), switch, boots)
}
