//! Every attack scenario in compartments/scenarios/ on Bochs tigerlake (hardware VMFUNC),
//! booted from its declaration: each compartment ends as its `expect` says, and each
//! scenario shows the `@@` lines compartments/README.md promises. Each scenario boots once
//! per run (`boot_declaration`); scenarios boot concurrently within the runner's limit.

mod app;
mod classic;
mod concurrency;
mod debugging;
mod hypercalls;
mod isolation;
mod lifecycle;
mod limits;
mod rejections;

use std::thread;
use tessera_scenarios::{boot_declaration, declared, declared_outcome_problems};
use xtask::examples::available;

/// Every scenario in compartments/scenarios/ (whatever exists): each compartment ends as
/// its `expect` says (`@@FAULT kind=`, `@@EXIT code=`, `@@REJECT`), and the boot passes.
/// The scenarios boot concurrently; every problem of every scenario is reported.
#[test]
fn every_scenario_ends_as_declared() {
    let names = available(&xtask::paths::scenarios_dir());
    eprintln!("scenarios: {}", names.join(", "));
    let results: Vec<(String, Vec<String>, String)> = thread::scope(|s| {
        let runs: Vec<_> = names
            .iter()
            .map(|name| {
                s.spawn(move || {
                    let path = format!("compartments/scenarios/{name}");
                    let d = declared(&path);
                    let outcome = boot_declaration(&path);
                    (
                        name.clone(),
                        declared_outcome_problems(&d, outcome),
                        outcome.failure_report(),
                    )
                })
            })
            .collect();
        runs.into_iter()
            .map(|run| run.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let failed: Vec<String> = results
        .iter()
        .filter(|(_, problems, _)| !problems.is_empty())
        .map(|(name, problems, report)| {
            format!("scenario {name}:\n  {}\n{report}", problems.join("\n  "))
        })
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
