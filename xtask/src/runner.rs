//! Booting an image on an engine ([`boot`]): one run directory per boot, COM1 streamed
//! line by line while the emulator runs, a hard timeout, and the verdict read from the
//! transcript. A nested-kvm boot goes to [`crate::nested`], which boots Linux first.
//!
//! Exit statuses are never the verdict (QEMU exits 1 on pass, Bochs 0 or 1), only
//! `@@RESULT`. The emulator is always ended by the PID this process started.

use crate::engine::Engine;
use crate::faults::{self, Fault};
use crate::image::{self, Image};
use crate::process::{BochsLaunch, Emulator, POLL, Slot, Tail};
use crate::transcript::{Record, Transcript, Verdict};
use crate::{bochs, gdb, paths, qemu};
use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long a well-behaved kernel may take to end the emulator after `@@RESULT`.
const EXIT_GRACE: Duration = Duration::from_secs(10);
/// How often a Bochs that lost the race for a VNC port is started again.
const VNC_RETRIES: u32 = 3;
/// How many transcript lines a failure report shows.
const REPORT_LINES: usize = 20;

/// The default timeout: Bochs reaches the kernel in about a second but runs guests at
/// ~46 MIPS; QEMU and KVM boot in well under a second.
pub fn default_timeout(engine: &Engine) -> Duration {
    match engine {
        Engine::Bochs { .. } => Duration::from_secs(120),
        Engine::Qemu { .. } | Engine::Kvm { .. } => Duration::from_secs(60),
        // Seconds of the Linux guest's time for QEMU to boot Tessera (about 4).
        Engine::NestedKvm { .. } => Duration::from_secs(120),
        // OVMF alone takes seconds under TCG.
        Engine::Uefi { .. } => Duration::from_secs(120),
    }
}

/// Whether and how COM1 lines are shown as they arrive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Echo {
    Quiet,
    /// Printed as they are.
    Lines,
    /// Printed as `[prefix] line` (for parallel runs).
    Prefixed(String),
}

/// One boot to perform.
#[derive(Clone, Debug)]
pub struct BootSpec {
    pub engine: Engine,
    pub image: Image,
    pub timeout: Duration,
    pub echo: Echo,
}

/// The names [`BootSpec`] and [`BootOutcome`] had before issue 13, kept while code
/// written against them is still being merged (the conformance work and
/// `tests/tests/nested.rs`); new code uses the new names.
pub type RunSpec = BootSpec;
/// See [`RunSpec`].
pub type RunOutcome = BootOutcome;

/// How the emulator ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// It exited by itself with this status.
    Exited(ExitStatus),
    /// The timeout fired; it was killed.
    TimedOut,
    /// It printed `@@RESULT` but did not exit within the grace period; it was killed.
    KilledAfterResult,
}

/// What a boot produced.
#[derive(Clone, Debug)]
pub struct BootOutcome {
    pub engine: Engine,
    /// Holds bochsrc, dbg.rc, com1.txt, bochs.log / the emulator's output.
    pub run_dir: PathBuf,
    /// The raw COM1 transcript file.
    pub com1: PathBuf,
    pub transcript: Transcript,
    pub verdict: Verdict,
    pub end: End,
    pub elapsed: Duration,
    /// Every `@@FAULT`, named from the booted images ([`with_faults`]; also in the run
    /// directory's [`faults::ANNOTATED_FILE`]).
    pub faults: Vec<Fault>,
}

impl BootOutcome {
    /// True only for `@@RESULT pass` as the last `@@` line.
    pub fn passed(&self) -> bool {
        self.verdict == Verdict::Pass
    }

    /// How the emulator ended, in words.
    pub fn end_text(&self) -> String {
        let secs = self.elapsed.as_secs_f64();
        match self.end {
            End::Exited(status) => format!("emulator ended after {secs:.1} s, {status}"),
            End::TimedOut => format!("timed out after {secs:.1} s; emulator killed"),
            End::KilledAfterResult => format!(
                "emulator did not exit within {} s of @@RESULT; killed after {secs:.1} s",
                EXIT_GRACE.as_secs()
            ),
        }
    }

    /// One line: the verdict, or why there is none.
    pub fn summary(&self) -> String {
        match &self.verdict {
            Verdict::Pass => format!("@@RESULT pass ({})", self.end_text()),
            Verdict::Fail { reason } => {
                format!("@@RESULT fail reason={reason} ({})", self.end_text())
            }
            Verdict::Missing => format!("no @@RESULT line: {}", self.end_text()),
        }
    }

    /// The contained faults, each with the function it happened in (empty without
    /// faults).
    pub fn fault_report(&self) -> String {
        if self.faults.is_empty() {
            return String::new();
        }
        format!(
            "faults (functions from the booted images; annotated transcript: {}):\n{}",
            self.run_dir.join(faults::ANNOTATED_FILE).display(),
            faults::report(&self.faults)
        )
    }

    /// Everything needed to understand a failed boot: the summary, the last transcript
    /// lines, the contained faults, the emulator's own complaints, and where the run
    /// directory is.
    pub fn failure_report(&self) -> String {
        let mut report = format!("{}: {}\n", self.engine.label(), self.summary());
        let lines = &self.transcript.lines;
        let _ = writeln!(report, "last COM1 lines ({} in all):", lines.len());
        for line in &lines[lines.len().saturating_sub(REPORT_LINES)..] {
            let _ = writeln!(report, "  | {line}");
        }
        report.push_str(&self.fault_report());
        let log = fs::read_to_string(self.run_dir.join("bochs.log")).unwrap_or_default();
        let highlights = bochs::log_highlights(&log);
        if !highlights.is_empty() {
            let _ = writeln!(report, "bochs.log (errors, panics, VM-entry failures):");
            for line in &highlights[highlights.len().saturating_sub(REPORT_LINES)..] {
                let _ = writeln!(report, "  | {line}");
            }
        }
        let output = fs::read_to_string(self.run_dir.join("emulator.out")).unwrap_or_default();
        let output: Vec<&str> = output.lines().filter(|l| !l.trim().is_empty()).collect();
        if !output.is_empty() {
            let _ = writeln!(report, "emulator output (last lines):");
            for line in &output[output.len().saturating_sub(8)..] {
                let _ = writeln!(report, "  | {line}");
            }
        }
        let _ = writeln!(report, "run directory: {}", self.run_dir.display());
        report
    }
}

/// Boots `spec.image` on `spec.engine` and waits for the verdict.
///
/// `Err` means the run could not be started (no ISO, emulator missing); a boot that fails
/// or hangs is an `Ok` outcome whose verdict says so.
pub fn boot(spec: &BootSpec) -> Result<BootOutcome> {
    boot_inner(spec, None)
}

/// [`boot`] with QEMU's gdbstub on `port` and the CPU held at reset until gdb continues
/// it; each `@@LOAD` line is followed by the gdb command loading that compartment's
/// symbols at its base ([`gdb`], docs/debugging.md).
pub fn boot_with_gdb(spec: &BootSpec, port: u16) -> Result<BootOutcome> {
    gdb::check_engine(&spec.engine)?;
    boot_inner(spec, Some(port))
}

fn boot_inner(spec: &BootSpec, gdb_port: Option<u16>) -> Result<BootOutcome> {
    if let Engine::NestedKvm { .. } = spec.engine {
        // Its faults are named in `nested::boot_all`, run by run.
        return crate::nested::boot(spec);
    }
    let run_dir = new_run_dir(&spec.engine.label())?;
    let com1 = run_dir.join("com1.txt");
    let mut command = prepare(spec, &run_dir, &com1)?;
    if let Some(port) = gdb_port {
        command.args(gdb::qemu_args(port));
    }
    fs::write(run_dir.join("command.txt"), format!("{command:?}\n"))?;
    let _slot = Slot::acquire();
    let mut retries = VNC_RETRIES;
    let (end, transcript, elapsed) = loop {
        let output = File::create(run_dir.join("emulator.out"))?;
        command.stdout(output.try_clone()?).stderr(output);
        let watched = watch(spec, &mut command, (&run_dir, &com1), gdb_port.is_some())?;
        let (end, transcript, _) = &watched;
        let log = fs::read_to_string(run_dir.join("bochs.log")).unwrap_or_default();
        if retries > 0
            && matches!(end, End::Exited(_))
            && transcript.lines.is_empty()
            && bochs::vnc_bind_failed(&log)
        {
            // Another Bochs (maybe in another process) raced us for the same VNC port.
            retries -= 1;
            eprintln!(
                "{}: Bochs could not bind a VNC port; retrying",
                spec.engine.label()
            );
            sleep(Duration::from_millis(
                500 * u64::from(VNC_RETRIES - retries),
            ));
            continue;
        }
        break watched;
    };
    let verdict = transcript.verdict();
    if verdict == Verdict::Pass {
        // The ISO is the only large file: keep it in the run directory only where a failure
        // needs reproducing; the last passing one is target/tessera/tessera.iso (what the
        // README tells users to write to a USB stick).
        let _ = fs::rename(
            run_dir.join("tessera.iso"),
            crate::paths::tessera_dir().join("tessera.iso"),
        );
    }
    let outcome = BootOutcome {
        engine: spec.engine.clone(),
        run_dir,
        com1,
        transcript,
        verdict,
        end,
        elapsed,
        faults: Vec::new(),
    };
    with_faults(outcome, &spec.image.modules)
}

/// Finds the outcome's `@@FAULT`s, names each from the ELF booted under its
/// compartment's name (`modules`), and writes the annotated transcript next to
/// `com1.txt` (which stays as COM1 gave it).
pub fn with_faults(mut outcome: BootOutcome, modules: &[image::Module]) -> Result<BootOutcome> {
    outcome.faults = faults::find(&outcome.transcript, modules);
    faults::write_annotated(&outcome.run_dir, &outcome.transcript, &outcome.faults)?;
    Ok(outcome)
}

/// The emulator command for this run (ISO and bochsrc written into `run_dir` for Bochs).
fn prepare(spec: &BootSpec, run_dir: &Path, com1: &Path) -> Result<Command> {
    let mut command = match &spec.engine {
        Engine::Bochs { cpu } => {
            eprintln!("making ISO…");
            let iso = image::make_iso(&spec.image, run_dir)?;
            let rc = run_dir.join("bochsrc");
            let dbg = run_dir.join("dbg.rc");
            fs::write(&rc, bochs::bochsrc_smp(cpu, &iso, run_dir, spec.image.cpus))?;
            fs::write(&dbg, bochs::DEBUGGER_RC)?;
            bochs::command(&rc, &dbg)
        }
        Engine::Qemu { cpu } => {
            let clock = qemu::Clock::from_env()?;
            qemu::command(qemu::Accel::Tcg(clock), cpu, &spec.image, com1)
        }
        Engine::Kvm { cpu } => qemu::command(qemu::Accel::Kvm, cpu, &spec.image, com1),
        Engine::NestedKvm { .. } => anyhow::bail!("nested-kvm boots through nested::boot_all"),
        Engine::Uefi { cpu } => {
            eprintln!("making ISO…");
            let iso = image::make_iso(&spec.image, run_dir)?;
            let mut command = Command::new("qemu-system-x86_64");
            let clock = qemu::Clock::from_env()?;
            command.args(qemu::uefi_args(cpu, clock, spec.image.cpus, &iso, com1));
            command
        }
    };
    command.current_dir(run_dir).stdin(Stdio::null());
    Ok(command)
}

/// Starts the emulator and follows COM1 until it exits, times out, or lingers after
/// `@@RESULT`. Returns how it ended, the transcript and the time taken.
fn watch(
    spec: &BootSpec,
    command: &mut Command,
    (run_dir, com1): (&Path, &Path),
    gdb_hints: bool,
) -> Result<(End, Transcript, Duration)> {
    // Bochs binds its VNC port non-atomically (bind, then listen): two instances started
    // together can both bind 5900 and one then gives up. Start them one at a time.
    let mut launching = matches!(spec.engine, Engine::Bochs { .. }).then(BochsLaunch::acquire);
    let start = Instant::now();
    let child = command
        .spawn()
        .with_context(|| format!("starting {}", spec.engine.name()))?;
    let mut emulator = Emulator::new(child);
    let mut tail = Tail::new(com1.to_path_buf());
    let mut transcript = Transcript::default();
    let mut result_at: Option<Instant> = None;
    let end = loop {
        for line in tail.poll()? {
            if Record::parse(&line).is_some_and(|r| r.is_result()) {
                result_at.get_or_insert_with(Instant::now);
            }
            take(&spec.echo, &line, &mut transcript);
            let hint = gdb_hints.then(|| gdb::hint(&line, &spec.image.modules));
            if let Some(hint) = hint.flatten() {
                eprintln!("{hint}");
            }
        }
        let exited = emulator.try_wait()?;
        if launching.is_some() && (exited.is_some() || bochs_port_settled(run_dir, start)) {
            launching = None;
        }
        if let Some(status) = exited {
            break End::Exited(status);
        }
        if result_at.is_some_and(|at| at.elapsed() > EXIT_GRACE) {
            emulator.stop();
            break End::KilledAfterResult;
        }
        if start.elapsed() > spec.timeout {
            emulator.stop();
            break End::TimedOut;
        }
        sleep(POLL);
    };
    let elapsed = start.elapsed();
    for line in tail.finish()? {
        take(&spec.echo, &line, &mut transcript);
    }
    Ok((end, transcript, elapsed))
}

/// Bochs has bound its VNC port (or given up), or has had ample time to.
fn bochs_port_settled(run_dir: &Path, start: Instant) -> bool {
    start.elapsed() > Duration::from_secs(5)
        || fs::read_to_string(run_dir.join("bochs.log"))
            .is_ok_and(|log| bochs::vnc_listening(&log) || bochs::vnc_bind_failed(&log))
}

fn take(echo: &Echo, line: &str, transcript: &mut Transcript) {
    match echo {
        Echo::Quiet => {}
        Echo::Lines => println!("{line}"),
        Echo::Prefixed(prefix) => println!("[{prefix}] {line}"),
    }
    transcript.push_line(line);
}

fn new_run_dir(label: &str) -> Result<PathBuf> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = paths::runs_dir().join(format!("{label}-{millis}-{}-{n}", std::process::id()));
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}
