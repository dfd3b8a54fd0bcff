//! `cargo xtask conformance`: the VMFUNC conformance suite (VMFUNC-SEMANTICS.md) on every
//! configuration — Bochs tigerlake with hardware VMFUNC (the oracle), tigerlake with
//! `switch=emulate`, ivy bridge (no VMFUNC: emulated), and the AMD engines (QEMU TCG and
//! Bochs ryzen: emulated over NPT). Each case's outcome is compared with what the SDM's
//! rules give for the EPTP rules that configuration reports (`@@VMFUNC_RULES`), and the
//! configurations with the same rules must agree case by case.

use crate::engine::Engine;
use crate::image::{Image, Module};
use crate::kernel;
use crate::runner::{self, Echo, RunSpec};
use crate::transcript::Transcript;
use anyhow::{Result, bail};
use std::collections::BTreeMap;
use std::time::Duration;

/// One configuration the suite runs on.
#[derive(Clone, Debug)]
pub struct Config {
    pub label: &'static str,
    pub engine: Engine,
    pub kernel_args: &'static str,
}

/// The configurations, oracle first.
pub fn configs() -> Vec<Config> {
    let bochs = |cpu: &str| Engine::Bochs { cpu: cpu.into() };
    vec![
        Config {
            label: "tigerlake/hardware",
            engine: bochs("tigerlake"),
            kernel_args: "conformance=1",
        },
        Config {
            label: "tigerlake/emulated",
            engine: bochs("tigerlake"),
            kernel_args: "conformance=1 switch=emulate",
        },
        Config {
            label: "ivybridge/emulated",
            engine: bochs("corei7_ivy_bridge_3770k"),
            kernel_args: "conformance=1",
        },
        Config {
            label: "qemu-svm/emulated",
            engine: Engine::Qemu {
                cpu: "qemu64,+svm,+npt".into(),
            },
            kernel_args: "conformance=1",
        },
        Config {
            label: "ryzen/emulated",
            engine: bochs("ryzen"),
            kernel_args: "conformance=1",
        },
    ]
}

/// The EPTP rules a configuration reported.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rules {
    pub ad: bool,
    pub sss: bool,
    pub walk5: bool,
}

/// The rules a boot reported and its cases: `(case, ecx, outcome)` — `(case, ecx)`
/// identifies a row (several cases have sub-cases).
pub type Results = (Rules, Vec<(u32, u64, String)>);

/// What the SDM table (VMFUNC-SEMANTICS.md) gives for a case, as `outcome` or
/// `outcome:view` for switches, under `rules`. Slots are those of the kernel's fixture
/// (hypervisor/kernel/src/conformance.rs).
pub fn expected(case: u32, ecx: u64, rules: Rules) -> &'static str {
    match (case, ecx) {
        (1, _) | (18, _) => "switch:1",
        (2, _) => "switch:0",
        (3, _) => "switch:511",
        (4 | 5 | 6 | 7 | 11 | 13 | 14 | 20, _) => "exit59",
        (8, 8) if rules.walk5 => "exit59",
        (8, _) => "exit59",
        (9, _) if rules.ad => "switch:9",
        (9, _) => "exit59",
        (10, 10) if rules.sss => "switch:10",
        (10, _) => "exit59",
        (12, _) => "switch-fault",
        (15 | 16 | 17 | 19, _) => "ud",
        _ => "unknown-case",
    }
}

fn parse_hex(v: &str) -> Option<u64> {
    u64::from_str_radix(v.trim_start_matches("0x"), 16).ok()
}

/// The rules and cases of one transcript.
pub fn read(transcript: &Transcript) -> Result<Results> {
    let flag = |r: &crate::transcript::Record, k: &str| r.get(k) == Some("1");
    let Some(rules) = transcript.records("VMFUNC_RULES").next() else {
        bail!("no @@VMFUNC_RULES line (was the conformance fixture installed?)");
    };
    let rules = Rules {
        ad: flag(rules, "ad"),
        sss: flag(rules, "sss"),
        walk5: flag(rules, "walk5"),
    };
    let mut cases = Vec::new();
    for r in transcript.records("VMFUNC") {
        let (Some(case), Some(ecx), Some(outcome), Some(view)) = (
            r.get("case").and_then(|c| c.parse().ok()),
            r.get("ecx").and_then(parse_hex),
            r.get("outcome"),
            r.get("view"),
        ) else {
            bail!("malformed @@VMFUNC line: {}", r.rest);
        };
        let seen = if outcome == "switch" {
            format!("switch:{view}")
        } else {
            outcome.to_owned()
        };
        cases.push((case, ecx, seen));
    }
    Ok((rules, cases))
}

/// Runs the suite; `Ok(mismatches)`.
pub fn run(configs: &[Config]) -> Result<usize> {
    eprintln!("conformance: building the kernel and the conformance compartment…");
    let kernel = kernel::build()?;
    let module = Module::new(
        kernel::build_bare_metal("conformance", "conformance")?,
        "conformance",
    );
    let outcomes: Vec<Result<Results>> = std::thread::scope(|s| {
        let handles: Vec<_> = configs
            .iter()
            .map(|c| {
                let spec = RunSpec {
                    engine: c.engine.clone(),
                    image: Image {
                        modules: vec![module.clone()],
                        ..Image::new(kernel.elf32.clone(), c.kernel_args)
                    },
                    timeout: Duration::from_secs(300),
                    echo: Echo::Quiet,
                };
                s.spawn(move || -> Result<Results> {
                    eprintln!("conformance: booting {}…", c.label);
                    let run = runner::run(&spec)?;
                    if !run.passed() {
                        bail!("{} did not pass:\n{}", c.label, run.failure_report());
                    }
                    read(&run.transcript)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| bail!("a boot thread panicked")))
            .collect()
    });
    // (case, ecx, n-th occurrence): case 17 runs twice with the same ECX (two prefixes).
    let mut table: BTreeMap<(u32, u64, usize), Vec<String>> = BTreeMap::new();
    let mut mismatches = 0;
    let mut failures = Vec::new();
    for (i, result) in outcomes.into_iter().enumerate() {
        match result {
            Ok((rules, cases)) => {
                let mut occurrences: BTreeMap<(u32, u64), usize> = BTreeMap::new();
                for (case, ecx, seen) in cases {
                    let want = expected(case, ecx, rules);
                    let nth = occurrences.entry((case, ecx)).or_default();
                    *nth += 1;
                    let row = table
                        .entry((case, ecx, *nth))
                        .or_insert_with(|| vec![String::from("-"); configs.len()]);
                    row[i] = if seen == want {
                        seen
                    } else {
                        mismatches += 1;
                        format!("{seen}!={want}")
                    };
                }
            }
            Err(e) => failures.push(format!("{}: {e:#}", configs[i].label)),
        }
    }
    println!(
        "{:<6} {:<12} {}",
        "case",
        "ecx",
        configs
            .iter()
            .map(|c| format!("{:<22}", c.label))
            .collect::<String>()
    );
    for ((case, ecx, _), row) in &table {
        if row.iter().any(|c| c == "-") {
            mismatches += row.iter().filter(|c| *c == "-").count();
        }
        println!(
            "{case:<6} {:<12} {}",
            format!("{ecx:#x}"),
            row.iter().map(|c| format!("{c:<22}")).collect::<String>()
        );
    }
    for f in &failures {
        println!("{f}");
    }
    let cases = table.len();
    mismatches += failures.len() * cases.max(1);
    println!(
        "conformance: {cases} cases x {} configurations, {mismatches} mismatches",
        configs.len()
    );
    Ok(mismatches)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expectations_follow_the_rules() {
        let none = Rules::default();
        let tiger = Rules {
            ad: true,
            sss: true,
            walk5: false,
        };
        assert_eq!(expected(9, 9, none), "exit59");
        assert_eq!(expected(9, 9, tiger), "switch:9");
        assert_eq!(expected(10, 10, tiger), "switch:10");
        assert_eq!(expected(10, 11, tiger), "exit59");
        assert_eq!(expected(12, 13, none), "switch-fault");
        assert_eq!(expected(17, 1, none), "ud");
        assert_eq!(expected(99, 0, none), "unknown-case");
    }

    #[test]
    fn transcripts_are_read() {
        let t = Transcript::parse(
            "@@VMFUNC_RULES ad=1 sss=0 walk5=0 uc=1 wb=1 maxphyaddr=40\n\
             @@VMFUNC case=1 eax=0x0 ecx=0x1 rax=0x0 rcx=0x1 outcome=switch view=1\n\
             @@VMFUNC case=4 eax=0x0 ecx=0x200 rax=0x0 rcx=0x200 outcome=exit59 view=0\n",
        );
        let (rules, cases) = read(&t).expect("reads");
        assert!(rules.ad && !rules.sss);
        assert_eq!(
            cases,
            vec![
                (1, 1, "switch:1".to_owned()),
                (4, 0x200, "exit59".to_owned())
            ]
        );
        assert!(read(&Transcript::parse("@@VMFUNC case=1\n")).is_err());
    }
}
