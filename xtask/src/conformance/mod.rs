//! `cargo xtask conformance [--cases FILE]...`: the VMFUNC conformance suite
//! (docs/conformance.md) on every configuration — Bochs tigerlake with hardware VMFUNC,
//! tigerlake with `switch=emulate`, ivy bridge (no VMFUNC: emulated), and the AMD engines
//! (QEMU TCG and Bochs ryzen: emulated over NPT). The cases are rows of text
//! ([`rows`]: the standard set plus any file given); each row's outcome on each
//! configuration is compared with what the SDM gives ([`oracle`]) for the EPTP rules that
//! configuration reports (`@@VMFUNC_RULES`); documented engine deviations
//! ([`deviations`]) are marked, never hidden.
//!
//! [`nested_configs`] adds Tessera under real Linux KVM (`--engine nested-kvm`, both in
//! one Linux boot): KVM emulates VMFUNC for its L1 in L0, and its EPT capabilities differ
//! from Bochs' (no #VE, no UC memory type), which the reported rules carry.

pub mod deviations;
pub mod oracle;
#[cfg(test)]
mod oracle_tests;
pub mod rows;
mod table;

pub use oracle::Rules;
pub use table::table;

use crate::engine::Engine;
use crate::image::{Image, Module};
use crate::runner::{Echo, RunSpec};
use crate::transcript::Transcript;
use crate::{batch, kernel};
use anyhow::{Result, bail};
use std::time::Duration;

/// One configuration the suite runs on.
#[derive(Clone, Debug)]
pub struct Config {
    pub label: &'static str,
    pub engine: Engine,
    pub kernel_args: &'static str,
    /// Bochs' own VMFUNC runs the cases (hardware switching on a Bochs VMX model, or
    /// Bochs as the L0 under Linux KVM): its documented deviations apply.
    pub bochs_vmfunc: bool,
    /// Linux KVM in Bochs runs Tessera: KVM takes exits of its own between the guest's
    /// instructions (`deviations::BOCHS_27_UNDER_KVM`).
    pub under_kvm: bool,
}

/// The configurations, oracle first.
pub fn configs() -> Vec<Config> {
    let bochs = |cpu: &str| Engine::Bochs { cpu: cpu.into() };
    vec![
        Config {
            label: "tigerlake/hardware",
            engine: bochs("tigerlake"),
            kernel_args: "conformance=1",
            bochs_vmfunc: true,
            under_kvm: false,
        },
        Config {
            label: "tigerlake/emulated",
            engine: bochs("tigerlake"),
            kernel_args: "conformance=1 switch=emulate",
            bochs_vmfunc: false,
            under_kvm: false,
        },
        Config {
            label: "ivybridge/emulated",
            engine: bochs("corei7_ivy_bridge_3770k"),
            kernel_args: "conformance=1",
            bochs_vmfunc: false,
            under_kvm: false,
        },
        Config {
            label: "qemu-svm/emulated",
            engine: Engine::Qemu {
                cpu: "qemu64,+svm,+npt".into(),
            },
            kernel_args: "conformance=1",
            bochs_vmfunc: false,
            under_kvm: false,
        },
        Config {
            label: "ryzen/emulated",
            engine: bochs("ryzen"),
            kernel_args: "conformance=1",
            bochs_vmfunc: false,
            under_kvm: false,
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
            bochs_vmfunc: true,
            under_kvm: true,
        },
        Config {
            label: "KVM nested/emulated",
            engine: nested,
            kernel_args: "conformance=1 switch=emulate",
            bochs_vmfunc: false,
            under_kvm: true,
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

/// The rules a boot reported and the outcome of each row it ran: `(row, seen)`, where
/// `seen` is `WORD rip=.. view=.. index=..` as [`oracle::Expect`] prints.
pub type Results = (Rules, Vec<(usize, String)>);

/// The rules and row outcomes of one transcript.
pub fn read(transcript: &Transcript) -> Result<Results> {
    let flag = |r: &crate::transcript::Record, k: &str| r.get(k) == Some("1");
    let Some(r) = transcript.records("VMFUNC_RULES").next() else {
        bail!("no @@VMFUNC_RULES line (was the conformance fixture installed?)");
    };
    let rules = Rules {
        ad: flag(r, "ad"),
        sss: flag(r, "sss"),
        walk5: flag(r, "walk5"),
        uc: flag(r, "uc"),
        wb: flag(r, "wb"),
        maxphyaddr: r
            .get("maxphyaddr")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        ve: flag(r, "ve"),
        ept: r.get("tables") == Some("ept"),
    };
    let mut cases = Vec::new();
    for r in transcript.records("VMFUNC") {
        let (Some(row), Some(word), Some(rip), Some(view), Some(index)) = (
            r.get("case").and_then(|c| c.parse().ok()),
            r.get("outcome"),
            r.get("rip"),
            r.get("view"),
            r.get("index"),
        ) else {
            bail!("malformed @@VMFUNC line: {}", r.rest);
        };
        cases.push((row, format!("{word} rip={rip} view={view} index={index}")));
    }
    Ok((rules, cases))
}

/// Writes the `cases` module of `rows` (target/conformance/cases.bin) and returns it.
pub fn module(rows: &[rows::Row]) -> Result<Module> {
    let dir = crate::paths::target_dir().join("conformance");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("cases.bin");
    let cases: Vec<_> = rows.iter().map(|r| r.case).collect();
    std::fs::write(&path, tessera_core::cases::encode(&cases))?;
    Ok(Module::new(path, "cases"))
}

/// The modules a conformance boot takes: the fixture compartment and the case module.
pub fn modules(rows: &[rows::Row]) -> Result<Vec<Module>> {
    let fixture = Module::new(
        kernel::build_bare_metal("conformance", "conformance")?,
        "conformance",
    );
    Ok(vec![fixture, module(rows)?])
}

/// Boots every configuration (the nested-kvm ones in one Linux boot) and reads each.
pub fn boot(configs: &[Config], rows: &[rows::Row]) -> Result<Vec<Result<Results>>> {
    eprintln!("conformance: building the fixture kernel and the conformance compartment…");
    let mut kernels = kernel::Kernels::default();
    let modules = modules(rows)?;
    let mut specs = Vec::new();
    for c in configs {
        // `conformance=1`: the kernel with the fixture compiled in.
        let kernel = kernels.for_args(c.kernel_args)?;
        specs.push(RunSpec {
            engine: c.engine.clone(),
            image: Image {
                modules: modules.clone(),
                ..Image::new(kernel.elf32.clone(), c.kernel_args)
            },
            timeout: Duration::from_secs(300),
            echo: Echo::Quiet,
        });
    }
    eprintln!(
        "conformance: {} rows on {}…",
        rows.len(),
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

/// The rules and rows of a configuration's boot, which must have passed.
pub fn read_outcome(config: &Config, run: &crate::runner::RunOutcome) -> Result<Results> {
    if !run.passed() {
        bail!("{} did not pass:\n{}", config.label, run.failure_report());
    }
    read(&run.transcript)
}

/// `cargo xtask conformance [--engine E] [--cases FILE]...`: every configuration, or
/// those on one engine (`bochs`, `qemu`, `nested-kvm`), over the standard rows and those
/// of every FILE; true when nothing mismatched.
pub fn command(
    engine: Option<crate::engine::EngineRequest>,
    cases: &[std::path::PathBuf],
) -> Result<bool> {
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
    let rows = rows::load(cases)?;
    Ok(run(&configs, &rows)?.mismatches == 0)
}

/// The standard rows.
pub fn standard() -> Vec<rows::Row> {
    rows::load(&[] as &[&str]).expect("the standard rows parse (a host test checks it)")
}

/// Runs the suite and prints its table.
pub fn run(configs: &[Config], rows: &[rows::Row]) -> Result<table::Figures> {
    let outcomes = boot(configs, rows)?;
    let (text, figures) = table(configs, rows, outcomes);
    print!("{text}");
    Ok(figures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcripts_are_read() {
        let t = Transcript::parse(
            "@@VMFUNC_RULES ad=1 sss=0 walk5=0 uc=0 wb=1 maxphyaddr=40 ve=0 tables=ept\n\
             @@VMFUNC case=0 eax=0x0 ecx=0x1 outcome=switch rip=+0x803 view=1 index=-\n\
             @@VMFUNC case=3 eax=0x0 ecx=0x200 outcome=exit59 rip=+0x803 view=0 index=-\n",
        );
        let (rules, cases) = read(&t).expect("reads");
        assert!(rules.ad && !rules.uc && rules.wb && rules.ept && !rules.ve);
        assert_eq!(rules.maxphyaddr, 40);
        assert_eq!(
            cases,
            vec![
                (0, "switch rip=+0x803 view=1 index=-".to_owned()),
                (3, "exit59 rip=+0x803 view=0 index=-".to_owned()),
            ]
        );
        assert!(
            read(&Transcript::parse(
                "@@VMFUNC case=1 outcome=ud rip=+0x800\n"
            ))
            .is_err()
        );
        let malformed = "@@VMFUNC_RULES ad=1\n@@VMFUNC case=1 outcome=ud\n";
        let e = read(&Transcript::parse(malformed)).expect_err("malformed");
        assert!(
            format!("{e:#}").contains("malformed @@VMFUNC line"),
            "{e:#}"
        );
    }

    #[test]
    fn the_case_module_is_the_rows() {
        let rows = standard();
        let bytes = tessera_core::cases::encode(&rows.iter().map(|r| r.case).collect::<Vec<_>>());
        assert_eq!(tessera_core::cases::count(&bytes), Ok(rows.len()));
        assert_eq!(configs_for(None).len(), configs().len() + 2);
    }

    #[test]
    fn every_configuration_boots_the_fixture_kernel() {
        for c in configs_for(None) {
            let flavour = kernel::Flavour::for_args(c.kernel_args);
            assert_eq!(flavour, kernel::Flavour::Fixture, "{}", c.label);
        }
    }
}
