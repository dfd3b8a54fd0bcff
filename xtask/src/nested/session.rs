//! One session: Bochs boots the guest once, `/init` loads KVM and runs every Tessera boot
//! of the payload in turn, then ends Bochs. COM1 is Linux's console; COM2 carries the
//! guest's reports and the transcripts ([`super::channel`]). Bochs is ended by the PID
//! this process started if the guest does not end it.

use super::channel::{Channel, Event};
use super::payload::QemuRun;
use crate::bochs;
use crate::process::{BochsLaunch, Emulator, POLL, Slot, Tail};
use crate::runner::{Echo, End};
use crate::transcript::Transcript;
use anyhow::{Context, Result};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::thread::sleep;
use std::time::{Duration, Instant};

/// Guest memory: Linux, the unpacked initramfs and a 256 MiB QEMU guest.
pub const MEGS: u32 = 1024;
/// Wall time from starting Bochs to the guest's `/init` (about 100 s on an idle core,
/// 150–200 s on a busy one).
pub const LINUX_BOOT_LIMIT: Duration = Duration::from_secs(900);
/// Wall time Bochs may take to end after `##DONE`.
const DONE_GRACE: Duration = Duration::from_secs(20);

/// What became of one Tessera run.
#[derive(Clone, Debug, Default)]
pub struct RunRecord {
    pub began: Option<Instant>,
    /// QEMU's exit status inside the guest, when seen, and the guest's uptime then.
    pub ended: Option<(i32, Instant, Option<f64>)>,
    pub transcript: Transcript,
    /// What QEMU wrote to stderr.
    pub stderr: Vec<String>,
}

/// Everything a session saw.
#[derive(Clone, Debug)]
pub struct Collected {
    pub dir: PathBuf,
    pub started: Instant,
    /// The `##STAGE name=linux` line and when it came.
    pub linux: Option<(String, Duration)>,
    /// `(ok, line)` of `##STAGE name=kvm`.
    pub kvm: Option<(bool, String)>,
    pub params: Vec<String>,
    pub dmesg: Vec<String>,
    pub runs: Vec<RunRecord>,
    pub done: Option<Instant>,
    /// Linux's console (COM1), whole.
    pub console: Vec<String>,
    /// The console line that made the session stop early (a panic).
    pub fatal: Option<String>,
    pub end: Option<End>,
}

impl Collected {
    fn new(dir: PathBuf, runs: usize) -> Collected {
        Collected {
            dir,
            started: Instant::now(),
            linux: None,
            kvm: None,
            params: Vec::new(),
            dmesg: Vec::new(),
            runs: vec![RunRecord::default(); runs],
            done: None,
            console: Vec::new(),
            fatal: None,
            end: None,
        }
    }

    fn record_mut(&mut self, id: &str) -> Option<&mut RunRecord> {
        id.parse::<usize>().ok().and_then(|i| self.runs.get_mut(i))
    }

    fn apply(&mut self, event: Event, echo: &Echo) {
        let total = self.runs.len();
        match event {
            Event::Stage { name, line, .. } if name == "linux" => {
                let at = self.started.elapsed();
                eprintln!(
                    "nested-kvm: Linux reached /init after {:.0} s ({line})",
                    at.as_secs_f64()
                );
                self.linux = Some((line, at));
            }
            Event::Stage { ok, line, .. } => {
                eprintln!("nested-kvm: {line}");
                self.kvm = Some((ok, line));
            }
            Event::Param(p) => self.params.push(p),
            Event::Dmesg(d) => self.dmesg.push(d),
            Event::RunBegin { id } => {
                eprintln!(
                    "nested-kvm: run {id} ({} of {total}) starts",
                    id.parse::<usize>().map_or(0, |i| i + 1)
                );
                if let Some(r) = self.record_mut(&id) {
                    r.began = Some(Instant::now());
                }
            }
            Event::RunEnd { id, rc, uptime } => {
                if let Some(r) = self.record_mut(&id) {
                    r.ended = Some((rc, Instant::now(), uptime));
                }
            }
            Event::Qemu { id, text } => {
                if let Some(r) = self.record_mut(&id) {
                    r.stderr.push(text);
                }
            }
            Event::Transcript { id, line } => {
                match echo {
                    Echo::Quiet => {}
                    Echo::Lines => println!("{line}"),
                    Echo::Prefixed(prefix) => println!("[{prefix} {id}] {line}"),
                }
                if let Some(r) = self.record_mut(&id) {
                    r.transcript.push_line(&line);
                }
            }
            Event::Done => self.done = Some(Instant::now()),
            Event::Other(_) => {}
        }
    }
}

/// A console line after which the guest cannot go on.
pub fn fatal_console_line(line: &str) -> bool {
    line.contains("Kernel panic") || line.contains("pvh-stub: FATAL")
}

/// The bochsrc: the usual headless one ([`bochs::bochsrc_sized`]) with COM2 added.
pub fn bochsrc(cpu: &str, iso: &Path, dir: &Path) -> String {
    let mut rc = bochs::bochsrc_sized(cpu, iso, dir, MEGS);
    rc.push_str(&format!(
        "com2: enabled=1, mode=file, dev={}/com2.txt\n",
        dir.display()
    ));
    rc
}

/// Boots `iso` on Bochs `cpu` and follows the session until the guest ends Bochs, Linux
/// fails, or `limit` passes.
pub fn boot(
    cpu: &str,
    iso: &Path,
    dir: &Path,
    runs: &[QemuRun],
    echo: &Echo,
    limit: Duration,
) -> Result<Collected> {
    let rc = dir.join("bochsrc");
    let dbg = dir.join("dbg.rc");
    fs::write(&rc, bochsrc(cpu, iso, dir))?;
    fs::write(&dbg, bochs::DEBUGGER_RC)?;
    let _slot = Slot::acquire();
    for attempt in 0..3 {
        let collected = watch(&rc, &dbg, dir, runs.len(), echo, limit)?;
        let log = fs::read_to_string(dir.join("bochs.log")).unwrap_or_default();
        let lost_race = collected.console.is_empty() && bochs::vnc_bind_failed(&log);
        if !lost_race || attempt == 2 {
            return Ok(collected);
        }
        eprintln!("nested-kvm: Bochs could not bind a VNC port; retrying");
        sleep(Duration::from_secs(1 + attempt));
    }
    unreachable!("the last attempt returns")
}

fn watch(
    rc: &Path,
    dbg: &Path,
    dir: &Path,
    runs: usize,
    echo: &Echo,
    limit: Duration,
) -> Result<Collected> {
    let mut c = Collected::new(dir.to_path_buf(), runs);
    for f in ["com1.txt", "com2.txt", "bochs.log"] {
        let _ = fs::remove_file(dir.join(f));
    }
    let out = File::create(dir.join("emulator.out"))?;
    let mut command = bochs::command(rc, dbg);
    command
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out);
    let mut launching = Some(BochsLaunch::acquire());
    let child = command.spawn().context("starting bochs")?;
    let mut emulator = Emulator::new(child);
    let (mut com1, mut com2) = (
        Tail::new(dir.join("com1.txt")),
        Tail::new(dir.join("com2.txt")),
    );
    let mut channel = Channel::new();
    let end = loop {
        for line in com1.poll()? {
            if *echo != Echo::Quiet {
                eprintln!("linux| {line}");
            }
            if fatal_console_line(&line) && c.fatal.is_none() {
                c.fatal = Some(line.clone());
            }
            c.console.push(line);
        }
        for line in com2.poll()? {
            for event in channel.push(&line) {
                c.apply(event, echo);
            }
        }
        let settled = c.started.elapsed() > Duration::from_secs(5)
            || fs::read_to_string(dir.join("bochs.log")).is_ok_and(|l| bochs::vnc_listening(&l));
        if settled {
            launching = None;
        }
        if let Some(status) = emulator.try_wait()? {
            break End::Exited(status);
        }
        let elapsed = c.started.elapsed();
        let linux_late = c.linux.is_none() && elapsed > LINUX_BOOT_LIMIT;
        if c.fatal.is_some() || linux_late || elapsed > limit {
            emulator.stop();
            break End::TimedOut;
        }
        if c.done.is_some_and(|at| at.elapsed() > DONE_GRACE) {
            emulator.stop();
            break End::KilledAfterResult;
        }
        sleep(POLL * 5);
    };
    drop(launching);
    c.console.extend(com1.finish()?);
    for line in com2.finish()? {
        for event in channel.push(&line) {
            c.apply(event, echo);
        }
    }
    c.end = Some(end);
    Ok(c)
}
