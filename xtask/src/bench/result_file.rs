//! The result file, `target/bench/<engine>-<cpu>-<mode>.json` (format `tessera-bench 1`,
//! docs/benchmarks.md): written from a [`Report`] and read back by `--compare`, both
//! through serde_json.

use super::report::{BootResult, Entry, Report};
use super::suite::ITERATIONS;
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fs;
use std::path::{Path, PathBuf};

/// The `format` member of every result file this code writes and reads.
pub const FORMAT: &str = "tessera-bench 1";

/// A whole result file, members in the order written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResultFile {
    /// [`FORMAT`].
    pub format: String,
    pub engine: String,
    pub cpu: String,
    /// The switch mode of the gates boot.
    pub switch: String,
    /// Always `tsc`.
    pub engine_ticks: String,
    pub ticks_meaning: String,
    pub exits_per_iter_format: String,
    pub iterations: u64,
    pub benchmarks: Vec<MeasuredBenchmark>,
    pub missing: Vec<MissingBenchmark>,
    pub boots: Vec<BootRecord>,
}

/// One measured benchmark.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeasuredBenchmark {
    pub id: String,
    pub title: String,
    /// The boot's id (`gates`, `fixture`, `emulated`, `views-N`).
    pub boot: String,
    pub compartment: String,
    pub name: String,
    /// Its boot's switch mode.
    pub switch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub views: Option<u64>,
    pub iterations: u64,
    pub min: u64,
    pub median: u64,
    pub p99: u64,
    pub max: u64,
    pub overhead: u64,
    /// `[exits of the timed loop, iterations]`.
    pub exits_per_iter: (u64, u64),
}

/// A benchmark that was not measured, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MissingBenchmark {
    pub id: String,
    pub title: String,
    pub why: String,
}

/// One boot: how it went, and every `@@BENCH` object it printed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BootRecord {
    pub id: String,
    pub kernel_args: String,
    pub switch: Option<String>,
    pub passed: bool,
    pub summary: String,
    /// Rounded to a tenth.
    pub seconds: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mib: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_mib: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_dir: Option<String>,
    pub bench: Vec<Map<String, Value>>,
}

fn measured(e: &Entry) -> Option<MeasuredBenchmark> {
    let l = e.result.as_ref().ok()?;
    Some(MeasuredBenchmark {
        id: e.benchmark.id.clone(),
        title: e.benchmark.title.clone(),
        boot: e.benchmark.boot.id(),
        compartment: l.compartment.clone(),
        name: l.name.clone(),
        switch: e.mode.clone(),
        views: e.benchmark.views.map(|v| v as u64),
        iterations: l.iterations,
        min: l.min,
        median: l.median,
        p99: l.p99,
        max: l.max,
        overhead: l.overhead,
        exits_per_iter: l.exits_per_iter(),
    })
}

fn missing(e: &Entry) -> Option<MissingBenchmark> {
    Some(MissingBenchmark {
        id: e.benchmark.id.clone(),
        title: e.benchmark.title.clone(),
        why: e.result.as_ref().err()?.clone(),
    })
}

fn boot_record(b: &BootResult) -> BootRecord {
    BootRecord {
        id: b.kind.id(),
        kernel_args: b.kernel_args.clone(),
        switch: b.mode.clone(),
        passed: b.passed,
        summary: b.summary.clone(),
        // One decimal, as `{:.1}` writes it.
        seconds: format!("{:.1}", b.seconds).parse().unwrap_or(0.0),
        memory_mib: b.memory_mib.map(|(total, _)| total),
        free_mib: b.memory_mib.map(|(_, free)| free),
        run_dir: b.run_dir.as_ref().map(|d| d.display().to_string()),
        bench: b.lines.iter().map(|l| l.json.clone()).collect(),
    }
}

impl ResultFile {
    /// The file of `report`.
    pub fn from_report(report: &Report) -> ResultFile {
        ResultFile {
            format: FORMAT.into(),
            engine: report.engine.name().into(),
            cpu: report.engine.cpu().into(),
            switch: report.mode.clone(),
            engine_ticks: "tsc".into(),
            ticks_meaning: report.ticks_meaning().into(),
            exits_per_iter_format: "[exits of the timed loop, iterations]".into(),
            iterations: ITERATIONS,
            benchmarks: report.entries.iter().filter_map(measured).collect(),
            missing: report.entries.iter().filter_map(missing).collect(),
            boots: report.boots.iter().map(boot_record).collect(),
        }
    }

    /// The file's text: JSON, one benchmark per line ([`super::layout`]).
    pub fn to_text(&self) -> String {
        super::layout::to_text(self)
    }

    /// Parses a result file's text; `Err` names the problem (and where it is).
    pub fn parse(text: &str) -> Result<ResultFile> {
        let file: ResultFile = serde_json::from_str(text)?;
        if file.format != FORMAT {
            bail!("format is {:?}, not {FORMAT:?}", file.format);
        }
        Ok(file)
    }

    /// Reads and parses `path`.
    pub fn read(path: &Path) -> Result<ResultFile> {
        let text =
            fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        ResultFile::parse(&text).with_context(|| format!("{} is not a result file", path.display()))
    }
}

impl Report {
    /// Writes `dir/<stem>.json` and `dir/<stem>.svg`; returns both paths.
    pub fn write(&self, dir: &Path) -> Result<(PathBuf, PathBuf)> {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let json = dir.join(format!("{}.json", self.stem()));
        let svg = dir.join(format!("{}.svg", self.stem()));
        fs::write(&json, ResultFile::from_report(self).to_text())
            .with_context(|| format!("writing {}", json.display()))?;
        fs::write(&svg, self.svg()).with_context(|| format!("writing {}", svg.display()))?;
        Ok((json, svg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::fixtures::qemu_report;

    #[test]
    fn a_report_round_trips_through_its_file() {
        let file = ResultFile::from_report(&qemu_report());
        let text = file.to_text();
        assert_eq!(ResultFile::parse(&text).unwrap(), file);
        let ids: Vec<&str> = file.benchmarks.iter().map(|b| b.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "a", "b", "c0", "c2", "c6", "c0-raw", "d", "e", "f", "g2", "h", "r0", "r64", "r256"
            ]
        );
        assert_eq!(file.missing.len(), 1);
        assert_eq!(file.missing[0].why, "boot views-16 failed: no \"modules\"");
        // The raw @@BENCH objects keep L1's member first, and `seconds` a tenth.
        let gates = &file.boots[0];
        assert_eq!(gates.bench[0].keys().next().unwrap(), "compartment");
        assert_eq!(gates.seconds, 1.2);
        assert!(
            text.contains("\n    {\"id\":\"a\",\"title\":\"plain function call (baseline)\","),
            "{text}"
        );
    }

    /// The members, their order and their values are those of format 1 as written before
    /// serde_json wrote it (only the whitespace differs).
    #[test]
    fn the_members_are_those_of_format_1() {
        let value = serde_json::to_value(ResultFile::from_report(&qemu_report())).unwrap();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "format",
                "engine",
                "cpu",
                "switch",
                "engine_ticks",
                "ticks_meaning",
                "exits_per_iter_format",
                "iterations",
                "benchmarks",
                "missing",
                "boots"
            ]
        );
        let g2 = serde_json::to_string(&value["benchmarks"][9]).unwrap();
        assert_eq!(
            g2,
            r#"{"id":"g2","title":"gate round trip, round-robin, 2 views","boot":"gates","compartment":"bench","name":"gate-rr","switch":"hardware","views":2,"iterations":10000,"min":10,"median":12,"p99":15,"max":90,"overhead":4,"exits_per_iter":[0,10000]}"#
        );
        let views_16 = serde_json::to_string(&value["boots"][4]).unwrap();
        assert_eq!(
            views_16,
            r#"{"id":"views-16","kernel_args":"switch=hardware","switch":null,"passed":false,"summary":"no \"modules\"","seconds":0.0,"bench":[]}"#
        );
    }

    /// A file the hand-written JSON of earlier versions wrote reads the same, and is
    /// written back byte for byte.
    #[test]
    fn files_written_before_serde_still_read() {
        let old = r#"{
  "format": "tessera-bench 1",
  "engine": "bochs",
  "cpu": "tigerlake",
  "switch": "hardware",
  "engine_ticks": "tsc",
  "ticks_meaning": "TSC ticks = instructions executed",
  "exits_per_iter_format": "[exits of the timed loop, iterations]",
  "iterations": 10000,
  "benchmarks": [
    {"id":"g2","title":"gate round trip, round-robin, 2 views","boot":"gates","compartment":"bench","name":"gate-rr","switch":"hardware","views":2,"iterations":10000,"min":209,"median":209,"p99":209,"max":209,"overhead":4,"exits_per_iter":[0,10000]}
  ],
  "missing": [],
  "boots": [
    {
      "id": "gates",
      "kernel_args": "",
      "switch": "hardware",
      "passed": true,
      "summary": "@@RESULT pass (emulator ended after 7.1 s, exit status: 0)",
      "seconds": 7.1,
      "memory_mib": 256,
      "free_mib": 200,
      "run_dir": "target/tessera/runs/bochs-tigerlake-1",
      "bench": [
        {"compartment":"bench","name":"gate-rr","engine_ticks":"tsc","iterations":10000,"min":209,"median":209,"p99":209,"max":209,"exits_per_iter":[0,10000],"overhead":4,"views":2}
      ]
    }
  ]
}
"#;
        let file = ResultFile::parse(old).unwrap();
        assert_eq!(file.benchmarks[0].views, Some(2));
        assert_eq!(file.benchmarks[0].exits_per_iter, (0, 10_000));
        assert_eq!(file.boots[0].memory_mib, Some(256));
        assert_eq!(file.boots[0].bench[0]["views"], 2);
        assert_eq!(file.to_text(), old, "the layout is that of earlier files");
    }

    #[test]
    fn other_files_are_refused_with_the_reason() {
        let mut file = ResultFile::from_report(&qemu_report());
        file.format = "tessera-bench 2".into();
        let e = ResultFile::parse(&file.to_text()).unwrap_err();
        assert!(e.to_string().contains("tessera-bench 2"), "{e}");
        let e = ResultFile::parse(r#"{"format":"tessera-bench 1"}"#).unwrap_err();
        assert!(e.to_string().contains("missing field"), "{e}");
    }
}
