//! Emulator processes: killed by the PID we started, COM1 followed as it grows, and how
//! many run at once.

use anyhow::{Context, Result};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// How often a running emulator and its COM1 file are polled.
pub const POLL: Duration = Duration::from_millis(20);

/// The emulator process; killed (by its PID) if still running when dropped.
#[derive(Debug)]
pub struct Emulator {
    child: Child,
    reaped: bool,
}

impl Emulator {
    pub fn new(child: Child) -> Emulator {
        Emulator {
            child,
            reaped: false,
        }
    }

    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        let status = self.child.try_wait()?;
        self.reaped |= status.is_some();
        Ok(status)
    }

    /// SIGTERM (lets Bochs flush its log), then SIGKILL after 3 s.
    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if matches!(self.try_wait(), Ok(Some(_))) {
                return;
            }
            sleep(POLL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.reaped = true;
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Follows a file the emulator appends to, yielding complete lines.
#[derive(Debug)]
pub struct Tail {
    path: PathBuf,
    file: Option<File>,
    pending: Vec<u8>,
}

impl Tail {
    pub fn new(path: PathBuf) -> Tail {
        Tail {
            path,
            file: None,
            pending: Vec::new(),
        }
    }

    pub fn poll(&mut self) -> Result<Vec<String>> {
        if self.file.is_none() {
            self.file = open_if_exists(&self.path)?;
        }
        if let Some(file) = &mut self.file {
            file.read_to_end(&mut self.pending)?;
        }
        let mut lines = Vec::new();
        while let Some(newline) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=newline).collect();
            lines.push(String::from_utf8_lossy(&line).trim_end().to_owned());
        }
        Ok(lines)
    }

    /// The remaining lines, including a last line without a newline.
    pub fn finish(&mut self) -> Result<Vec<String>> {
        let mut lines = self.poll()?;
        if !self.pending.is_empty() {
            lines.push(String::from_utf8_lossy(&self.pending).trim_end().to_owned());
            self.pending.clear();
        }
        Ok(lines)
    }
}

fn open_if_exists(path: &Path) -> Result<Option<File>> {
    match File::open(path) {
        Ok(file) => Ok(Some(file)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("opening {}", path.display())),
    }
}

/// Bounds how many emulators this process runs at once: one per core (each Bochs or
/// TCG vCPU keeps one core busy).
#[derive(Debug)]
pub struct Slot;

static RUNNING: Mutex<usize> = Mutex::new(0);
static FREED: Condvar = Condvar::new();

impl Slot {
    pub fn acquire() -> Slot {
        let limit = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
        while *running >= limit {
            running = FREED.wait(running).unwrap_or_else(|e| e.into_inner());
        }
        *running += 1;
        Slot
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
        *running -= 1;
        FREED.notify_one();
    }
}

/// Held while one Bochs starts, until it has bound its VNC port.
#[derive(Debug)]
pub struct BochsLaunch {
    _held: MutexGuard<'static, ()>,
}

static LAUNCH: Mutex<()> = Mutex::new(());

impl BochsLaunch {
    pub fn acquire() -> BochsLaunch {
        BochsLaunch {
            _held: LAUNCH.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }
}
