//! Many boots at once: the nested-kvm ones share ONE Linux boot (a session, in the order
//! given), every other one boots on its own in a thread of its own, bounded by the
//! runner's emulator slots. Results come back in the order of the specs.

use crate::engine::Engine;
use crate::nested;
use crate::nested::stage::StageError;
use crate::runner::{self, BootOutcome, BootSpec};
use anyhow::{Result, anyhow};

/// The name [`boot_all`] had before issue 13, kept while code written against it is
/// still being merged (the conformance work and `tests/tests/nested.rs`).
pub use self::boot_all as run_all;

/// Boots every spec; one result per spec, in order.
pub fn boot_all(specs: &[BootSpec]) -> Vec<Result<BootOutcome>> {
    let nested: Vec<usize> = (0..specs.len())
        .filter(|&i| matches!(specs[i].engine, Engine::NestedKvm { .. }))
        .collect();
    let mut results: Vec<Option<Result<BootOutcome>>> = (0..specs.len()).map(|_| None).collect();
    std::thread::scope(|s| {
        let session = (!nested.is_empty()).then(|| {
            let batch: Vec<BootSpec> = nested.iter().map(|&i| specs[i].clone()).collect();
            s.spawn(move || nested_results(&batch))
        });
        let others: Vec<_> = (0..specs.len())
            .filter(|i| !nested.contains(i))
            .map(|i| (i, s.spawn(move || runner::boot(&specs[i]))))
            .collect();
        for (i, handle) in others {
            results[i] = Some(
                handle
                    .join()
                    .unwrap_or_else(|_| Err(anyhow!("a boot thread panicked"))),
            );
        }
        if let Some(handle) = session {
            let outcomes = handle.join().unwrap_or_else(|_| Vec::new());
            for (&i, outcome) in nested.iter().zip(outcomes) {
                results[i] = Some(outcome);
            }
        }
    });
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(anyhow!("the nested-kvm session thread panicked"))))
        .collect()
}

/// One session's results; a session-wide failure becomes every run's error.
fn nested_results(batch: &[BootSpec]) -> Vec<Result<BootOutcome>> {
    match nested::boot_all(batch) {
        Ok(results) => results,
        Err(e) => batch.iter().map(|_| Err(copy_error(&e))).collect(),
    }
}

fn copy_error(e: &anyhow::Error) -> anyhow::Error {
    match e.downcast_ref::<StageError>() {
        Some(stage) => stage.clone().into(),
        None => anyhow!("{e:#}"),
    }
}
