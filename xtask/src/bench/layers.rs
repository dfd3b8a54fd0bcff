//! `cargo xtask bench --engine nested-kvm`: what each layer costs a view switch.
//!
//! The whole suite runs twice on the same Bochs CPU model (`corei7_skylake_x`): once on
//! Bochs directly (Tessera is L1 on a CPU whose VMFUNC is "hardware") and once under
//! Linux KVM in Bochs (Tessera is KVM's L1; each `VMFUNC` of a compartment exits to KVM
//! in L0, which performs the EPTP switch for its L1 and resumes the compartment, never
//! exiting to Tessera). Bochs' TSC counts the instructions the whole machine executes,
//! KVM's included, so every figure is instructions per round trip. The nested boots
//! share one Linux boot; the direct ones run beside it.

use super::json::Json;
use super::{BootKind, BootResult, Entry, Plan, Report};
use crate::batch;
use crate::engine::Engine;
use crate::image::Image;
use crate::runner::{BootSpec, Echo};
use anyhow::Result;
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
        .find(|e| e.spec.id == id && e.result.is_ok())
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

/// The same as JSON: one object per layer.
pub fn to_json(direct: &Report, nested: &Report) -> Json {
    let layers = LAYERS
        .iter()
        .map(|layer| {
            let report = if layer.nested { nested } else { direct };
            let num = |f: Option<(u64, u64)>, i: usize| {
                f.map_or(Json::Null, |(m, x)| Json::uint(if i == 0 { m } else { x }))
            };
            let pair = layer.pair.and_then(|id| figure(report, id));
            let gate = figure(report, layer.gate);
            Json::Obj(vec![
                ("layer".into(), Json::str(layer.title)),
                ("engine".into(), Json::str(report.engine_text())),
                ("vmfunc_pair_median".into(), num(pair, 0)),
                ("gate_benchmark".into(), Json::str(layer.gate)),
                ("gate_round_trip_median".into(), num(gate, 0)),
                ("exits_to_l1_per_round_trip".into(), num(gate, 1)),
            ])
        })
        .collect();
    Json::Obj(vec![
        ("cpu".into(), Json::str(direct.engine.cpu())),
        (
            "ticks".into(),
            Json::str("instructions executed by the whole Bochs machine"),
        ),
        ("layers".into(), Json::Arr(layers)),
    ])
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
    let runnable: Vec<(BootKind, BootSpec)> = images
        .iter()
        .filter_map(|(kind, image)| {
            let image = image.as_ref().ok()?.clone();
            let timeout = plan
                .timeout
                .unwrap_or_else(|| super::default_timeout(&plan.engine, super::views_of(*kind)));
            let echo = Echo::Quiet;
            Some((
                *kind,
                BootSpec {
                    engine: plan.engine.clone(),
                    image,
                    timeout,
                    echo,
                },
            ))
        })
        .collect();
    let specs: Vec<BootSpec> = runnable.iter().map(|(_, s)| s.clone()).collect();
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
            let args = super::kernel_args(*kind, plan.switch);
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
        let d = s.spawn(|| super::run(&direct));
        let n = super::run(plan);
        (n, d.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
    });
    let (nested_report, direct_report) = (nested_report?, direct_report?);
    let direct_ok = super::present(&direct_report)?;
    let nested_ok = super::present(&nested_report)?;
    println!("{}", table(&direct_report, &nested_report));
    let path = super::out_dir().join(format!("layers-{}.json", plan.engine.cpu()));
    std::fs::create_dir_all(super::out_dir())?;
    std::fs::write(&path, to_json(&direct_report, &nested_report).pretty())?;
    println!("wrote {}", path.display());
    Ok(direct_ok && nested_ok)
}
