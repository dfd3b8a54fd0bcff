//! Booting every image of a [`Plan`] and collecting what the boots report into a
//! [`Report`]: in parallel where the engine counts work rather than time (Bochs, TCG),
//! one at a time on KVM, all in one Linux boot on nested-kvm; with progress lines and a
//! heartbeat naming the boots still running.

use super::plan::{Plan, images};
use super::report::{BootResult, Report, collect};
use super::suite::{BootKind, suite};
use crate::engine::Engine;
use crate::image::Image;
use crate::qemu::Clock;
use crate::runner::{self, BootSpec, Echo};
use crate::tools::{self, Install};
use anyhow::Result;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often a long boot reports that it is still running.
const HEARTBEAT: Duration = Duration::from_secs(20);

/// Builds everything and boots every boot `plan` needs; never fails on a failed boot
/// (that benchmark is then missing from the report).
pub fn measure(plan: &Plan) -> Result<Report> {
    // TCG's clock decides what its ticks are; a bad TESSERA_QEMU_CLOCK fails before any boot.
    let clock = match plan.engine {
        Engine::Qemu { .. } | Engine::Uefi { .. } => Clock::from_env()?,
        _ => Clock::default(),
    };
    tools::ensure(&tools::for_engine(&plan.engine), Install::IfRoot)?;
    let suite = suite(&plan.views);
    let images = images(plan)?;
    let results = match plan.engine {
        Engine::NestedKvm { .. } => super::layers::boot_nested(plan, &images),
        _ => Boots::new(plan, images.len()).boot_all(&images),
    };
    let mut report = collect(plan.engine.clone(), &suite, plan.switch, results);
    report.clock = clock;
    Ok(report)
}

/// The boots of one plan on one engine, and which of them are running.
struct Boots<'a> {
    plan: &'a Plan,
    total: usize,
    started: Instant,
    running: Mutex<Vec<(String, Instant)>>,
    done: AtomicBool,
}

impl<'a> Boots<'a> {
    fn new(plan: &'a Plan, total: usize) -> Self {
        Boots {
            plan,
            total,
            started: Instant::now(),
            running: Mutex::new(Vec::new()),
            done: AtomicBool::new(false),
        }
    }

    /// Every image booted; one result per image, in order.
    fn boot_all(&self, images: &[(BootKind, Result<Image, String>)]) -> Vec<BootResult> {
        // Bochs and TCG (on its instruction clock) count work, not time: boots may share
        // the machine. On KVM they would disturb each other's cycles, so they run one at a
        // time.
        let parallel = !matches!(self.plan.engine, Engine::Kvm { .. });
        std::thread::scope(|s| {
            if self.plan.progress {
                s.spawn(|| self.heartbeat());
            }
            let results = if parallel {
                let handles: Vec<_> = images
                    .iter()
                    .enumerate()
                    .map(|(i, (kind, image))| s.spawn(move || self.boot(i, *kind, image)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                    .collect()
            } else {
                let each = images.iter().enumerate();
                each.map(|(i, (kind, image))| self.boot(i, *kind, image))
                    .collect()
            };
            self.done.store(true, Ordering::Relaxed);
            results
        })
    }

    fn running(&self) -> std::sync::MutexGuard<'_, Vec<(String, Instant)>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Boots image number `index`, of boot `kind`.
    fn boot(&self, index: usize, kind: BootKind, image: &Result<Image, String>) -> BootResult {
        let (plan, total) = (self.plan, self.total);
        let args = kind.kernel_args(plan.switch);
        let image = match image {
            Ok(image) => image.clone(),
            Err(e) => return BootResult::not_started(kind, args, e.clone()),
        };
        if plan.progress {
            eprintln!(
                "[{}/{total}] boot {} ({} view(s), {} module(s), kernel args {:?}) on {}…",
                index + 1,
                kind.id(),
                kind.views(),
                image.modules.len(),
                args,
                plan.engine.label()
            );
        }
        self.running().push((kind.id(), Instant::now()));
        let spec = BootSpec {
            engine: plan.engine.clone(),
            image,
            timeout: plan.timeout_of(kind),
            echo: Echo::Quiet,
        };
        let result = match runner::boot(&spec) {
            Ok(outcome) => BootResult::from_outcome(kind, args, &outcome),
            Err(e) => BootResult::not_started(kind, args, format!("{e:#}")),
        };
        self.running().retain(|(id, _)| *id != kind.id());
        if plan.progress {
            eprintln!(
                "[{}/{total}] boot {}: {} in {:.1} s, {} @@BENCH line(s)",
                index + 1,
                kind.id(),
                if result.passed { "passed" } else { "FAILED" },
                result.seconds,
                result.lines.len()
            );
        }
        result
    }

    /// Every [`HEARTBEAT`] until all boots are done: the boots still running.
    fn heartbeat(&self) {
        let mut last = Instant::now();
        while !self.done.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(200));
            if last.elapsed() < HEARTBEAT {
                continue;
            }
            last = Instant::now();
            let now = self.running().clone();
            let list: Vec<String> = now
                .iter()
                .map(|(id, at)| format!("{id} ({} s)", at.elapsed().as_secs()))
                .collect();
            if !list.is_empty() {
                eprintln!(
                    "… {} s in; still running (or waiting for an emulator): {}",
                    self.started.elapsed().as_secs(),
                    list.join(", ")
                );
            }
        }
    }
}
