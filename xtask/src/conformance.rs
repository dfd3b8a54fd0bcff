//! `cargo xtask conformance`: the VMFUNC conformance suite (VMFUNC-SEMANTICS.md) on every
//! configuration — Bochs tigerlake with hardware VMFUNC (the oracle), tigerlake with
//! `switch=emulate`, ivy bridge (no VMFUNC: emulated), and the AMD engines (QEMU TCG and
//! Bochs ryzen: emulated over NPT). Each case's outcome is compared with what the SDM's
//! rules give for the EPTP rules that configuration reports (`@@VMFUNC_RULES`), and the
//! configurations with the same rules must agree case by case.
//!
//! [`nested_configs`] adds Tessera under real Linux KVM (`--engine nested-kvm`, both in
//! one Linux boot): KVM emulates VMFUNC for its L1 in L0, and its EPT capabilities differ
//! from Bochs' (no #VE, no UC memory type), which the reported rules carry.

use crate::engine::Engine;
use crate::image::{Image, Module};
use crate::runner::{Echo, RunSpec};
use crate::transcript::Transcript;
use crate::{batch, kernel};
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

/// The configurations under Linux KVM in Bochs: KVM's own VMFUNC emulation (the L1
/// enables VMFUNC and KVM performs each switch in L0) and Tessera's (`switch=emulate`).
pub fn nested_configs() -> Vec<Config> {
    let nested = Engine::NestedKvm {
        cpu: crate::nested::BOCHS_CPU.into(),
    };
    vec![
        Config {
            label: "KVM nested (L0-emulated VMFUNC)",
            engine: nested.clone(),
            kernel_args: "conformance=1",
        },
        Config {
            label: "KVM nested/emulated",
            engine: nested,
            kernel_args: "conformance=1 switch=emulate",
        },
    ]
}

/// The configurations on `engine` (`None`: every one, Linux KVM included).
pub fn configs_for(engine: Option<&str>) -> Vec<Config> {
    let mut all = configs();
    all.extend(nested_configs());
    all.retain(|c| engine.is_none_or(|name| c.engine.name() == name));
    all
}

/// The EPTP rules a configuration reported.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rules {
    pub ad: bool,
    pub sss: bool,
    pub walk5: bool,
    /// The UC (0) and WB (6) EPT memory types are allowed (IA32_VMX_EPT_VPID_CAP bits 8
    /// and 14; KVM offers its L1 WB only).
    pub uc: bool,
    pub wb: bool,
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
        uc: flag(rules, "uc"),
        wb: flag(rules, "wb"),
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

/// Boots every configuration (the nested-kvm ones in one Linux boot) and reads each.
pub fn boot(configs: &[Config]) -> Result<Vec<Result<Results>>> {
    eprintln!("conformance: building the kernel and the conformance compartment…");
    let kernel = kernel::build()?;
    let module = Module::new(
        kernel::build_bare_metal("conformance", "conformance")?,
        "conformance",
    );
    let specs: Vec<RunSpec> = configs
        .iter()
        .map(|c| RunSpec {
            engine: c.engine.clone(),
            image: Image {
                modules: vec![module.clone()],
                ..Image::new(kernel.elf32.clone(), c.kernel_args)
            },
            timeout: Duration::from_secs(300),
            echo: Echo::Quiet,
        })
        .collect();
    eprintln!(
        "conformance: booting {}…",
        configs
            .iter()
            .map(|c| c.label)
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(batch::run_all(&specs)
        .into_iter()
        .zip(configs)
        .map(|(run, c)| read_outcome(c, &run?))
        .collect())
}

/// The rules and cases of a configuration's boot, which must have passed.
pub fn read_outcome(config: &Config, run: &crate::runner::RunOutcome) -> Result<Results> {
    if !run.passed() {
        bail!("{} did not pass:\n{}", config.label, run.failure_report());
    }
    read(&run.transcript)
}

/// `cargo xtask conformance [--engine E]`: every configuration, or those on one engine
/// (`bochs`, `qemu`, `nested-kvm`); true when nothing mismatched.
pub fn command(engine: Option<crate::engine::EngineRequest>) -> Result<bool> {
    use crate::engine::EngineRequest as R;
    let name = match engine {
        None | Some(R::Auto) => None,
        Some(R::Bochs) => Some("bochs"),
        Some(R::Qemu) => Some("qemu"),
        Some(R::Kvm) => Some("kvm"),
        Some(R::NestedKvm) => Some("nested-kvm"),
        Some(R::Uefi) => Some("uefi"),
    };
    let configs = configs_for(name);
    if configs.is_empty() {
        bail!(
            "no conformance configuration runs on {}",
            name.unwrap_or("?")
        );
    }
    Ok(run(&configs)? == 0)
}

/// Runs the suite and prints its table; `Ok(mismatches)`.
pub fn run(configs: &[Config]) -> Result<usize> {
    let (text, mismatches) = table(configs, boot(configs)?);
    print!("{text}");
    Ok(mismatches)
}

/// The table of `outcomes` (one per configuration, in order): every row against the
/// SDM's outcome for that configuration's rules, the rules each reported, failures, and
/// the number of mismatches (a failed configuration counts every row).
pub fn table(configs: &[Config], outcomes: Vec<Result<Results>>) -> (String, usize) {
    // (case, ecx, n-th occurrence): case 17 runs twice with the same ECX (two prefixes).
    let mut rows: BTreeMap<(u32, u64, usize), Vec<String>> = BTreeMap::new();
    let mut mismatches = 0;
    let mut failures = Vec::new();
    let mut rules_seen = Vec::new();
    for (i, result) in outcomes.into_iter().enumerate() {
        let (rules, cases) = match result {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{}: {e:#}", configs[i].label));
                continue;
            }
        };
        rules_seen.push(format!("{}: {rules:?}", configs[i].label));
        let mut occurrences: BTreeMap<(u32, u64), usize> = BTreeMap::new();
        for (case, ecx, seen) in cases {
            let want = expected(case, ecx, rules);
            let nth = occurrences.entry((case, ecx)).or_default();
            *nth += 1;
            let row = rows
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
    let width = configs
        .iter()
        .map(|c| c.label.len() + 1)
        .max()
        .unwrap_or(0)
        .max(22);
    let mut out = format!("{:<6} {:<12} ", "case", "ecx");
    for c in configs {
        out.push_str(&format!("{:<width$}", c.label));
    }
    out.push('\n');
    for ((case, ecx, _), row) in &rows {
        mismatches += row.iter().filter(|c| *c == "-").count();
        out.push_str(&format!("{case:<6} {:<12} ", format!("{ecx:#x}")));
        for cell in row {
            out.push_str(&format!("{cell:<width$}"));
        }
        out.push('\n');
    }
    for r in &rules_seen {
        out.push_str(&format!("rules {r}\n"));
    }
    for f in &failures {
        out.push_str(&format!("{f}\n"));
    }
    let cases = rows.len();
    mismatches += failures.len() * cases.max(1);
    out.push_str(&format!(
        "conformance: {cases} cases x {} configurations, {mismatches} mismatches\n",
        configs.len()
    ));
    (out, mismatches)
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
            uc: true,
            wb: true,
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
        assert!(rules.ad && !rules.sss && rules.uc && rules.wb);
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

#[cfg(test)]
mod table_tests {
    use super::*;

    #[test]
    fn the_table_counts_mismatches_missing_rows_and_failures() {
        let configs = configs_for(Some("nested-kvm"));
        assert_eq!(configs.len(), 2);
        assert_eq!(configs[0].label, "KVM nested (L0-emulated VMFUNC)");
        let kvm = Rules {
            ad: true,
            wb: true,
            ..Rules::default()
        };
        let good = vec![
            (1, 1, "switch:1".to_owned()),
            (4, 0x200, "exit59".to_owned()),
        ];
        let (text, n) = table(
            &configs,
            vec![Ok((kvm, good.clone())), Ok((kvm, good.clone()))],
        );
        assert_eq!(n, 0, "{text}");
        assert!(text.contains("uc: false"), "{text}");
        let wrong = vec![(1, 1, "ud".to_owned())];
        let (text, n) = table(&configs, vec![Ok((kvm, good.clone())), Ok((kvm, wrong))]);
        assert_eq!(n, 2, "one wrong, one missing\n{text}");
        assert!(text.contains("ud!=switch:1"), "{text}");
        let (_, n) = table(
            &configs,
            vec![Ok((kvm, good)), Err(anyhow::anyhow!("boot failed"))],
        );
        assert_eq!(
            n, 4,
            "a failed configuration: every row missing, and every row again"
        );
        assert_eq!(configs_for(None).len(), super::configs().len() + 2);
    }
}
