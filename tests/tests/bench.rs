//! The benchmark plumbing (`cargo xtask bench`, docs/benchmarks.md) on Bochs tigerlake
//! (and `bench --smp` on QEMU TCG):
//! the boots run, every benchmark of the suite reports a `@@BENCH` line whose JSON
//! parses, the result file parses back, and each benchmark costs the VM exits its
//! switches and hypercalls must: none per hardware gate round trip, exactly one per
//! emulated switch (two per emulated round trip), and a restart (r) exactly its fault
//! (and, emulated, its call's switch). Structure, never timing.
//!
//! The scaling benchmark runs at 2, 16 and 128 views here (128 compartments in one boot,
//! about 7 s on Bochs); 511 views (a 512-module boot takes Bochs over a minute in GRUB
//! alone; measured: 209 instructions, 0 exits per round trip) is left to
//! `cargo xtask bench`.

use std::fs;
use std::path::PathBuf;
use tessera_scenarios::bochs;
use xtask::bench::{self, Plan, Report, ResultFile};
use xtask::commands::SwitchMode;

/// Measures the suite and writes its result files into a directory of this test's own.
fn measure(
    switch: Option<SwitchMode>,
    views: &[usize],
    dir: &str,
) -> (Report, ResultFile, PathBuf) {
    let plan = Plan {
        engine: bochs("tigerlake"),
        switch,
        views: views.to_vec(),
        timeout: None,
        progress: true,
    };
    let report =
        bench::measure(&plan).unwrap_or_else(|e| panic!("cannot run the benchmarks: {e:#}"));
    for boot in report.boots.iter().filter(|b| !b.passed) {
        eprintln!(
            "boot {} failed:\n{}",
            boot.kind.id(),
            boot.failure.as_deref().unwrap_or("")
        );
    }
    eprintln!("{}", report.table());
    let dir = bench::out_dir().join(dir);
    let (json_path, svg_path) = report.write(&dir).expect("writing the result files");
    let file = ResultFile::read(&json_path).unwrap_or_else(|e| panic!("{e:#}"));
    let svg = fs::read_to_string(&svg_path).expect("reading the plot");
    assert!(svg.starts_with("<svg ") && svg.trim_end().ends_with("</svg>"));
    (report, file, json_path)
}

/// `exits_per_iter` of benchmark `id` in a result file.
fn exits(file: &ResultFile, id: &str) -> (u64, u64) {
    let benchmark = file.benchmarks.iter().find(|b| b.id == id);
    let benchmark = benchmark
        .unwrap_or_else(|| panic!("benchmark {id} is missing from the result file\n{file:#?}"));
    benchmark.exits_per_iter
}

#[test]
fn every_benchmark_reports_and_hardware_gates_cost_no_exit() {
    let views = [2, 16, 128];
    let (report, file, path) = measure(None, &views, "test-hardware");
    let problems = bench::check(&report);
    assert!(
        problems.is_empty(),
        "{}\n{}",
        problems.join("\n"),
        report.table()
    );
    assert_eq!(file.engine, "bochs");
    assert_eq!(file.cpu, "tigerlake");
    assert_eq!(file.switch, "hardware");
    assert!(path.ends_with("bochs-tigerlake-hardware.json"), "{path:?}");
    for benchmark in bench::suite(&views) {
        let (_, n) = exits(&file, &benchmark.id);
        assert_eq!(n, benchmark.iterations, "{}: iterations", benchmark.id);
    }
    let n = bench::ITERATIONS;
    for id in ["a", "b", "c0", "c2", "c6", "c0-raw", "d", "g2", "g16"] {
        assert_eq!(exits(&file, id), (0, n), "{id}: hardware switching exits");
    }
    assert_eq!(exits(&file, "e"), (n, n), "one exit per VMCALL");
    assert_eq!(exits(&file, "h"), (2 * n, n), "SWITCH_VIEW there and back");
    let r = bench::RESTART_ITERATIONS;
    for id in ["r0", "r64", "r256"] {
        assert_eq!(exits(&file, id), (r, r), "{id}: the fault is the only exit");
    }
    assert_eq!(
        exits(&file, "f"),
        (2 * n, n),
        "an emulated round trip is two switches, one exit each"
    );
}

#[test]
fn with_switch_emulate_every_switch_costs_exactly_one_exit() {
    let (report, file, path) = measure(Some(SwitchMode::Emulate), &[2], "test-emulated");
    let problems = bench::check(&report);
    assert!(
        problems.is_empty(),
        "{}\n{}",
        problems.join("\n"),
        report.table()
    );
    assert!(path.ends_with("bochs-tigerlake-emulated.json"), "{path:?}");
    let n = bench::ITERATIONS;
    assert_eq!(exits(&file, "a"), (0, n));
    for id in ["b", "c0", "c6", "d", "f", "g2"] {
        assert_eq!(exits(&file, id), (2 * n, n), "{id}: two emulated switches");
    }
    assert_eq!(exits(&file, "e"), (n, n));
    let r = bench::RESTART_ITERATIONS;
    assert_eq!(
        exits(&file, "r64"),
        (2 * r, r),
        "the call's switch and the fault"
    );
}

/// `cargo xtask bench --smp 1,2,4` on QEMU TCG (SVM, emulated switching; the cheapest
/// SMP engine here): one row per vCPU of each boot, each vCPU's 10,000 round trips
/// costing exactly its two emulated switches each, plus at most the boot's watchdog
/// expiries. The ticks are printed, never asserted (docs/benchmarks.md "SMP").
#[test]
fn bench_smp_reports_every_vcpu_of_1_2_and_4() {
    let engine = tessera_scenarios::qemu("qemu64,+svm,+npt");
    let rows = bench::smp::measure(&engine, &[1, 2, 4], std::time::Duration::from_secs(300))
        .unwrap_or_else(|e| panic!("bench --smp: {e:#}"));
    eprintln!("{}", bench::smp::table(&engine, &rows));
    let seen: Vec<(u32, u32)> = rows.iter().map(|r| (r.vcpus, r.cpu)).collect();
    assert_eq!(
        seen,
        [(1, 0), (2, 0), (2, 1), (4, 0), (4, 1), (4, 2), (4, 3)]
    );
    for r in &rows {
        assert_eq!(r.n, 10_000, "{r:?}");
        assert!(
            (2 * r.n..=2 * r.n + r.watchdog).contains(&r.exits),
            "{r:?}: two exits per round trip, plus at most the boot's watchdog expiries"
        );
        assert!(r.ticks > 0, "{r:?}");
    }
}
