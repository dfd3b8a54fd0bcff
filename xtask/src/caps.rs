//! `cargo xtask capture-caps`: boot the kernel on every engine/CPU whose capabilities
//! `hypervisor/core` is tested against, and record each whole transcript as a fixture.

use crate::engine::{DEFAULT_QEMU_CPU, Engine};
use crate::runner::{self, BootSpec, Echo};
use crate::tools::{self, Install};
use crate::{image::Image, kernel, paths};
use anyhow::{Result, bail};
use std::fs;

/// The configurations recorded, in fixture order.
pub fn configs() -> Vec<Engine> {
    let bochs = |cpu: &str| Engine::Bochs {
        cpu: cpu.to_owned(),
    };
    vec![
        bochs("tigerlake"),
        bochs("corei7_skylake_x"),
        bochs("corei7_ivy_bridge_3770k"),
        bochs("ryzen"),
        Engine::Qemu {
            cpu: DEFAULT_QEMU_CPU.to_owned(),
        },
        // What KVM shows its L1: Tessera under Linux KVM in Bochs corei7_skylake_x.
        Engine::NestedKvm {
            cpu: crate::nested::BOCHS_CPU.to_owned(),
        },
    ]
}

/// The fixture file name for one configuration, e.g. `bochs-tigerlake.txt`.
pub fn fixture_name(engine: &Engine) -> String {
    format!("{}.txt", engine.label())
}

/// Boots every configuration (as many at once as there are cores) and writes the
/// transcripts of those that pass. Fails if any does not pass.
pub fn capture() -> Result<()> {
    tools::ensure(&tools::all(), Install::IfRoot)?;
    let kernel = kernel::build()?;
    let specs: Vec<BootSpec> = configs()
        .into_iter()
        .map(|engine| BootSpec {
            timeout: runner::default_timeout(&engine),
            echo: Echo::Prefixed(engine.label()),
            image: Image::new(kernel.elf32.clone(), ""),
            engine,
        })
        .collect();
    eprintln!("booting {} configurations…", specs.len());
    let outcomes: Vec<Result<runner::BootOutcome>> = std::thread::scope(|scope| {
        let handles: Vec<_> = specs
            .iter()
            .map(|spec| scope.spawn(move || runner::boot(spec)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a capture thread panicked"))
            .collect()
    });
    let dir = paths::caps_fixtures_dir();
    fs::create_dir_all(&dir)?;
    let mut failed = Vec::new();
    for (spec, outcome) in specs.iter().zip(outcomes) {
        let label = spec.engine.label();
        match outcome {
            Ok(outcome) if outcome.passed() => {
                let path = dir.join(fixture_name(&spec.engine));
                fs::copy(&outcome.com1, &path)?;
                eprintln!(
                    "{label}: pass in {:.1} s, wrote {}",
                    outcome.elapsed.as_secs_f64(),
                    path.display()
                );
            }
            Ok(outcome) => {
                eprintln!("{}", outcome.failure_report());
                failed.push(label);
            }
            Err(e) => {
                eprintln!("{label}: could not run: {e:#}");
                failed.push(label);
            }
        }
    }
    if !failed.is_empty() {
        bail!(
            "not recorded (did not pass): {}; existing fixtures for them are unchanged",
            failed.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_names_match_what_core_reads() {
        let names: Vec<String> = configs().iter().map(fixture_name).collect();
        assert_eq!(
            names,
            [
                "bochs-tigerlake.txt",
                "bochs-corei7_skylake_x.txt",
                "bochs-corei7_ivy_bridge_3770k.txt",
                "bochs-ryzen.txt",
                "qemu-qemu64-svm-npt.txt",
                "nested-kvm-corei7_skylake_x.txt"
            ]
        );
    }
}
