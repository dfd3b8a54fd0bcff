//! `cargo xtask bench --engine nested-kvm`: what each layer costs a view switch.
//!
//! The whole suite runs twice on the same Bochs CPU model (`corei7_skylake_x`): once on
//! Bochs directly (Tessera is L1 on a CPU whose VMFUNC is "hardware") and once under
//! Linux KVM in Bochs (Tessera is KVM's L1; each `VMFUNC` of a compartment exits to KVM
//! in L0, which performs the EPTP switch for its L1 and resumes the compartment, never
//! exiting to Tessera). Bochs' TSC counts the instructions the whole machine executes,
//! KVM's included, so every figure is instructions per round trip. The nested boots
//! share one Linux boot; the direct ones run beside it.

use super::{BootKind, BootResult, Entry, Plan, Report};
use crate::batch;
use crate::engine::Engine;
use crate::image::Image;
use crate::runner::{BootSpec, Echo};
use anyhow::Result;
use serde::Serialize;
use std::fmt::Write as _;

/// One row of the layers table: a way of switching views and the benchmark that
/// measures its round trip in each of the two reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layer {
    pub title: &'static str,
    /// `true`: from the nested (KVM) report; `false`: from Bochs directly.
    pub nested: bool,
    /// Benchmark ids: the bare `VMFUNC` pair (fixture boot) and the gate round trip.
    pub pair: Option<&'static str>,
    pub gate: &'static str,
}

/// The rows, cheapest first.
pub const LAYERS: [Layer; 6] = [
    Layer {
        title: "hardware VMFUNC (Bochs, no KVM)",
        nested: false,
        pair: Some("b"),
        gate: "c0",
    },
    Layer {
        title: "Tessera's emulation (Bochs, no KVM)",
        nested: false,
        pair: None,
        gate: "f",
    },
    Layer {
        title: "KVM's emulation in L0 (nested)",
        nested: true,
        pair: Some("b"),
        gate: "c0",
    },
    Layer {
        title: "Tessera's emulation under KVM (nested)",
        nested: true,
        pair: None,
        gate: "f",
    },
    Layer {
        title: "VMCALL round trip to L1 (Bochs, no KVM)",
        nested: false,
        pair: None,
        gate: "e",
    },
    Layer {
        title: "VMCALL round trip to L1 (nested)",
        nested: true,
        pair: None,
        gate: "e",
    },
];

fn entry<'a>(report: &'a Report, id: &str) -> Option<&'a Entry> {
    report
        .entries
        .iter()
        .find(|e| e.benchmark.id == id && e.result.is_ok())
}

/// `(median, exits per iteration)` of benchmark `id`.
fn figure(report: &Report, id: &str) -> Option<(u64, u64)> {
    let line = entry(report, id)?.result.as_ref().ok()?;
    let (exits, n) = line.exits_per_iter();
    Some((line.median, exits / n.max(1)))
}

fn cell(f: Option<(u64, u64)>) -> String {
    f.map_or("-".into(), |(median, _)| median.to_string())
}

/// The table of both reports, one row per layer.
pub fn table(direct: &Report, nested: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "What each layer costs a view switch, Bochs {} (instructions of the whole machine, median of 10,000)",
        direct.engine.cpu()
    );
    let _ = writeln!(
        out,
        "{:<42} {:>14} {:>16} {:>14}",
        "layer", "VMFUNC pair", "gate round trip", "exits to L1"
    );
    for layer in LAYERS {
        let report = if layer.nested { nested } else { direct };
        let pair = layer.pair.and_then(|id| figure(report, id));
        let gate = figure(report, layer.gate);
        let exits = gate.map_or("-".into(), |(_, x)| x.to_string());
        let _ = writeln!(
            out,
            "{:<42} {:>14} {:>16} {:>14}",
            layer.title,
            cell(pair),
            format!("{} ({})", cell(gate), layer.gate),
            exits
        );
    }
    out
}

/// `target/bench/layers-<cpu>.json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayersFile {
    pub cpu: String,
    pub ticks: &'static str,
    pub layers: Vec<LayerFigures>,
}

/// One layer's row.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerFigures {
    pub layer: &'static str,
    pub engine: String,
    pub vmfunc_pair_median: Option<u64>,
    pub gate_benchmark: &'static str,
    pub gate_round_trip_median: Option<u64>,
    pub exits_to_l1_per_round_trip: Option<u64>,
}

/// The same as the table: one object per layer.
pub fn layers_file(direct: &Report, nested: &Report) -> LayersFile {
    let layers = LAYERS
        .iter()
        .map(|layer| {
            let report = if layer.nested { nested } else { direct };
            let pair = layer.pair.and_then(|id| figure(report, id));
            let gate = figure(report, layer.gate);
            LayerFigures {
                layer: layer.title,
                engine: report.engine_text(),
                vmfunc_pair_median: pair.map(|(median, _)| median),
                gate_benchmark: layer.gate,
                gate_round_trip_median: gate.map(|(median, _)| median),
                exits_to_l1_per_round_trip: gate.map(|(_, exits)| exits),
            }
        })
        .collect();
    LayersFile {
        cpu: direct.engine.cpu().to_owned(),
        ticks: "instructions executed by the whole Bochs machine",
        layers,
    }
}

/// The plan of the same suite on Bochs directly, same CPU model.
pub fn direct_plan(nested: &Plan) -> Plan {
    Plan {
        engine: Engine::Bochs {
            cpu: nested.engine.cpu().to_owned(),
        },
        ..nested.clone()
    }
}

/// Every boot of a nested plan, in ONE Linux boot (one after the other, so they do not
/// disturb each other's counts).
pub fn boot_nested(plan: &Plan, images: &[(BootKind, Result<Image, String>)]) -> Vec<BootResult> {
    let specs: Vec<BootSpec> = images
        .iter()
        .filter_map(|(kind, image)| {
            Some(BootSpec {
                engine: plan.engine.clone(),
                image: image.as_ref().ok()?.clone(),
                timeout: plan.timeout_of(*kind),
                echo: Echo::Quiet,
            })
        })
        .collect();
    if plan.progress {
        eprintln!(
            "{} boot(s) in one Linux boot on {}…",
            specs.len(),
            plan.engine.label()
        );
    }
    let mut outcomes = batch::boot_all(&specs).into_iter();
    images
        .iter()
        .map(|(kind, image)| {
            let args = kind.kernel_args(plan.switch);
            match image {
                Err(e) => BootResult::not_started(*kind, args, e.clone()),
                Ok(_) => match outcomes.next() {
                    Some(Ok(outcome)) => BootResult::from_outcome(*kind, args, &outcome),
                    Some(Err(e)) => BootResult::not_started(*kind, args, format!("{e:#}")),
                    None => BootResult::not_started(*kind, args, "no result".into()),
                },
            }
        })
        .collect()
}

/// `cargo xtask bench --engine nested-kvm`: the suite under KVM and on Bochs directly
/// (side by side), both reports written as usual, and the layers table and its JSON
/// (`target/bench/layers-<cpu>.json`).
pub fn command(plan: &Plan) -> Result<bool> {
    let direct = direct_plan(plan);
    let (nested_report, direct_report) = std::thread::scope(|s| {
        let d = s.spawn(|| super::measure(&direct));
        let n = super::measure(plan);
        (n, d.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
    });
    let (nested_report, direct_report) = (nested_report?, direct_report?);
    let direct_ok = super::present(&direct_report)?;
    let nested_ok = super::present(&nested_report)?;
    println!("{}", table(&direct_report, &nested_report));
    let path = super::out_dir().join(format!("layers-{}.json", plan.engine.cpu()));
    std::fs::create_dir_all(super::out_dir())?;
    let file = layers_file(&direct_report, &nested_report);
    std::fs::write(&path, super::layout::to_text(&file))?;
    println!("wrote {}", path.display());
    Ok(direct_ok && nested_ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::fixtures::qemu_report;

    #[test]
    fn the_layers_table_and_file_of_fixed_reports() {
        let direct = qemu_report();
        let mut nested = qemu_report();
        nested.entries.retain(|e| e.benchmark.id != "b");
        let table = table(&direct, &nested);
        let rows: Vec<&str> = table.lines().collect();
        assert_eq!(rows.len(), 2 + LAYERS.len());
        assert_eq!(
            rows[2],
            "hardware VMFUNC (Bochs, no KVM)                        12          12 (c0)              0"
        );
        assert_eq!(
            rows[4],
            "KVM's emulation in L0 (nested)                          -          12 (c0)              0"
        );
        assert_eq!(
            rows[5],
            "Tessera's emulation under KVM (nested)                  -           12 (f)              2"
        );
        let file = serde_json::to_value(layers_file(&direct, &nested)).unwrap();
        assert_eq!(file["layers"].as_array().unwrap().len(), LAYERS.len());
        assert_eq!(
            serde_json::to_string(&file["layers"][2]).unwrap(),
            r#"{"layer":"KVM's emulation in L0 (nested)","engine":"qemu qemu64,+svm,+npt","vmfunc_pair_median":null,"gate_benchmark":"c0","gate_round_trip_median":12,"exits_to_l1_per_round_trip":0}"#
        );
        assert_eq!(file["cpu"], "qemu64,+svm,+npt");
    }
}
