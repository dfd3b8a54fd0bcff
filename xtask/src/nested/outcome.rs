//! From what a session saw to one result per Tessera run: a [`BootOutcome`] read from its
//! own transcript exactly as on every other engine, or an error naming the stage that
//! kept it from running (Linux boot, KVM module load, QEMU start).

use super::session::{Collected, RunRecord};
use super::stage::{Stage, StageError};
use crate::engine::Engine;
use crate::runner::{BootOutcome, End};
use anyhow::Result;
use std::fmt::Write as _;
use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

/// How many console or dmesg lines an error shows.
const DETAIL_LINES: usize = 30;

fn tail(lines: &[String]) -> Vec<String> {
    lines[lines.len().saturating_sub(DETAIL_LINES)..].to_vec()
}

fn end_text(end: Option<End>, secs: f64) -> String {
    match end {
        Some(End::Exited(status)) => format!("Bochs ended after {secs:.0} s ({status})"),
        Some(End::KilledAfterResult) => {
            format!("Bochs did not end after the last run; killed after {secs:.0} s")
        }
        Some(End::TimedOut) | None => format!("Bochs stopped after {secs:.0} s"),
    }
}

/// The session-wide failure, if Linux or KVM never came up.
pub fn session_error(c: &Collected) -> Option<StageError> {
    let secs = c.started.elapsed().as_secs_f64();
    if c.linux.is_none() {
        let why = match &c.fatal {
            Some(line) => format!("the guest stopped: {line}"),
            None => format!(
                "no report from the guest's /init: {}",
                end_text(c.end, secs)
            ),
        };
        let mut details = vec![format!(
            "Linux's console ({}/com1.txt), last lines:",
            c.dir.display()
        )];
        details.extend(tail(&c.console));
        return Some(StageError::new(Stage::LinuxBoot, why).with_details(details));
    }
    match &c.kvm {
        Some((true, _)) => None,
        Some((false, line)) => {
            Some(StageError::new(Stage::KvmModule, line.clone()).with_details(tail(&c.dmesg)))
        }
        None => {
            let mut details = tail(&c.dmesg);
            details.extend(tail(&c.console));
            Some(
                StageError::new(
                    Stage::KvmModule,
                    format!("no KVM report: {}", end_text(c.end, secs)),
                )
                .with_details(details),
            )
        }
    }
}

fn run_end(record: &RunRecord) -> End {
    match record.ended {
        // busybox `timeout` ends QEMU with SIGTERM: 143 (124 in coreutils' convention).
        Some((124 | 143, _, _)) | None => End::TimedOut,
        Some((rc, _, _)) => End::Exited(ExitStatus::from_raw((rc & 0xff) << 8)),
    }
}

/// The result of run `index` of the session.
pub fn run_result(
    c: &Collected,
    engine: &Engine,
    index: usize,
    argv: &[String],
) -> Result<BootOutcome> {
    let record = &c.runs[index];
    let id = super::payload::run_id(index);
    let Some(began) = record.began else {
        let secs = c.started.elapsed().as_secs_f64();
        return Err(StageError::new(
            Stage::Tessera,
            format!("run {id} never started: {}", end_text(c.end, secs)),
        )
        .into());
    };
    let run_dir = c.dir.join(format!("run-{id}"));
    fs::create_dir_all(&run_dir)?;
    let com1 = run_dir.join("com1.txt");
    fs::write(&com1, record.transcript.lines.join("\n") + "\n")?;
    // The runner's failure report shows the end of emulator.out: QEMU's stderr, then where
    // this run stands, so a failed boot names its stage like every other failure here.
    let mut out = record.stderr.clone();
    out.push(format!(
        "nested-kvm, stage \"Tessera\": run {id}, QEMU status {}; Linux's console and the session: {}",
        record.ended.map_or("- (did not end)".into(), |(rc, _, _)| rc.to_string()),
        c.dir.display()
    ));
    fs::write(run_dir.join("emulator.out"), out.join("\n") + "\n")?;
    fs::write(
        run_dir.join("command.txt"),
        format!("qemu-system-x86_64 {argv:?}\n"),
    )?;
    if record.transcript.lines.is_empty() {
        if let Some((rc, _, _)) = record.ended {
            let mut details = vec![format!("QEMU exited with status {rc}; its stderr:")];
            details.extend(record.stderr.iter().cloned());
            return Err(StageError::new(
                Stage::QemuStart,
                format!("run {id}: qemu-system-x86_64 -accel kvm printed nothing on Tessera's serial port"),
            )
            .with_details(details)
            .into());
        }
    }
    let finished = record
        .ended
        .map_or_else(std::time::Instant::now, |(_, at, _)| at);
    Ok(BootOutcome {
        engine: engine.clone(),
        run_dir,
        com1,
        verdict: record.transcript.verdict(),
        transcript: record.transcript.clone(),
        end: run_end(record),
        elapsed: finished.saturating_duration_since(began),
        faults: Vec::new(),
    })
}

/// A readable summary of the session (also written to `session.txt`).
pub fn summary(c: &Collected, versions: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "guest packages:\n{versions}");
    if let Some((line, at)) = &c.linux {
        let _ = writeln!(s, "Linux up after {:.0} s wall: {line}", at.as_secs_f64());
    }
    if let Some((_, line)) = &c.kvm {
        let _ = writeln!(s, "{line}");
    }
    for p in &c.params {
        let _ = writeln!(s, "param {p}");
    }
    for d in &c.dmesg {
        let _ = writeln!(s, "dmesg {d}");
    }
    for (i, r) in c.runs.iter().enumerate() {
        let wall = match (r.began, r.ended) {
            (Some(b), Some((_, e, _))) => {
                format!("{:.1} s wall", e.saturating_duration_since(b).as_secs_f64())
            }
            _ => "not finished".into(),
        };
        let rc = r.ended.map_or("-".into(), |(rc, _, up)| {
            format!("rc={rc} uptime={}", up.unwrap_or(0.0))
        });
        let _ = writeln!(s, "run {i:03}: {wall}, {rc}, {:?}", r.transcript.verdict());
    }
    let _ = writeln!(s, "{}", end_text(c.end, c.started.elapsed().as_secs_f64()));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::Verdict;
    use std::time::{Duration, Instant};

    fn collected(dir: &str) -> Collected {
        let dir = std::env::temp_dir().join(format!("xtask-outcome-{dir}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        Collected {
            dir,
            started: Instant::now(),
            linux: None,
            kvm: None,
            params: vec![],
            dmesg: vec!["kvm: something".into()],
            runs: vec![RunRecord::default(); 2],
            done: None,
            console: vec![
                "pvh-stub: started".into(),
                "Kernel panic - not syncing: x".into(),
            ],
            fatal: Some("Kernel panic - not syncing: x".into()),
            end: Some(End::TimedOut),
        }
    }

    #[test]
    fn linux_and_kvm_failures_name_their_stage() {
        let mut c = collected("stages");
        let e = session_error(&c).unwrap();
        assert_eq!(e.stage, Stage::LinuxBoot);
        assert!(e.message.contains("Kernel panic"), "{e}");
        c.linux = Some((
            "##STAGE name=linux status=ok".into(),
            Duration::from_secs(90),
        ));
        c.kvm = Some((
            false,
            "##STAGE name=kvm status=fail why=insmod-kvm-intel".into(),
        ));
        let e = session_error(&c).unwrap();
        assert_eq!(e.stage, Stage::KvmModule);
        assert_eq!(e.details, ["kvm: something"]);
        c.kvm = Some((true, String::new()));
        assert!(session_error(&c).is_none());
    }

    #[test]
    fn runs_become_outcomes_or_qemu_start_failures() {
        let mut c = collected("runs");
        let now = Instant::now();
        c.runs[0].began = Some(now);
        c.runs[0].ended = Some((1, now, Some(30.0)));
        c.runs[0].transcript.push_line("@@RESULT pass");
        c.runs[1].began = Some(now);
        c.runs[1].ended = Some((1, now, Some(31.0)));
        c.runs[1]
            .stderr
            .push("qemu-system-x86_64: failed to initialize kvm".into());
        let engine = Engine::NestedKvm {
            cpu: "corei7_skylake_x".into(),
        };
        let ok = run_result(&c, &engine, 0, &[]).unwrap();
        assert_eq!(ok.verdict, Verdict::Pass);
        let report = ok.failure_report();
        assert!(
            report.contains("stage \"Tessera\": run 000, QEMU status 1"),
            "{report}"
        );
        assert!(matches!(ok.end, End::Exited(s) if s.code() == Some(1)));
        let err = run_result(&c, &engine, 1, &[]).unwrap_err();
        let stage = err.downcast_ref::<StageError>().unwrap();
        assert_eq!(stage.stage, Stage::QemuStart);
        assert!(
            err.to_string().contains("failed to initialize kvm"),
            "{err}"
        );
        let _ = fs::remove_dir_all(&c.dir);
    }
}
