//! Handing a parked AP work: one mailbox per CPU and an NMI to wake it.
//!
//! A parked AP sleeps in `HLT` with interrupts off (its IDT has no vector for device
//! interrupts, and an interrupt would not do anyway: Bochs `ryzen` masks physical
//! interrupts by IF, docs/engines.md). An NMI wakes it whatever IF says; its handler
//! ([`on_nmi`]) only counts it and returns, and the AP looks at its mailbox. A job posted
//! just after the AP looked and just before its `HLT` would sleep through a single NMI,
//! so [`run_on`] sends NMIs until the AP says it took the job (the wake-up cannot be
//! lost). Once an AP is in VMX root operation INIT is blocked (SDM 3C §24.8), so this is
//! the only way to reach it again.
//!
//! NMIs are sent only to wake parked APs. A resent one may still arrive after the AP took
//! its job and entered its guest: VMX "NMI exiting" (always on) and the SVM NMI
//! intercept make it an exit L1 resumes from (core's `VmExit::Interrupt`), never an
//! event in the guest, so no compartment is stopped for it.

use crate::percpu::{CpuIndex, MAX_CPUS, PerCpu};
use crate::{cpu, lapic};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use spin::Mutex;

/// A job: runs on the AP, gets its index, returns a word for the caller.
pub type Job = fn(CpuIndex) -> u64;

/// One CPU's mailbox. Sequence numbers: `posted` by the caller, `taken` and `finished`
/// by the AP; a job is pending while `taken != posted`.
struct Mailbox {
    posted: AtomicU64,
    taken: AtomicU64,
    finished: AtomicU64,
    job: Mutex<Option<Job>>,
    result: AtomicU64,
}

static MAILBOX: PerCpu<Mailbox> = PerCpu::new(
    [const {
        Mailbox {
            posted: AtomicU64::new(0),
            taken: AtomicU64::new(0),
            finished: AtomicU64::new(0),
            job: Mutex::new(None),
            result: AtomicU64::new(0),
        }
    }; MAX_CPUS],
);

/// NMIs each CPU's handler saw (wake-ups, and any other).
static NMIS: PerCpu<AtomicU64> = PerCpu::new([const { AtomicU64::new(0) }; MAX_CPUS]);
/// Whether an NMI reached each CPU in L1 since its run loop last looked ([`take_kick`]):
/// a kick (the stop barrier) that arrived while the CPU was not in its guest.
static KICKED: PerCpu<AtomicBool> = PerCpu::new([const { AtomicBool::new(false) }; MAX_CPUS]);

/// TSC ticks to wait for the AP to take a job before sending the NMI again.
const RESEND_AFTER: u64 = 1 << 18;
/// NMIs sent at most before the AP counts as unresponsive.
const MAX_NMIS: u32 = 64;

/// Why a job did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotRun {
    /// The AP did not take it after [`MAX_NMIS`] NMIs.
    Unresponsive,
    /// It took the job but did not finish within the time given.
    Unfinished,
}

/// The NMI handler (IDT vector 2): counts the NMI on this CPU; the interrupted code (a
/// parked AP's `HLT` loop) goes on and reads its mailbox.
pub fn on_nmi() {
    if let Some(cpu) = super::this_cpu() {
        NMIS.of(cpu).fetch_add(1, Ordering::Relaxed);
        KICKED.of(cpu).store(true, Ordering::Release);
    }
}

/// Makes vCPU `cpu`'s CPU exit soon (the stop barrier, docs/gates.md "Faults, stops and
/// restarts across vCPUs"): an NMI, which VMX "NMI exiting" and the SVM NMI intercept
/// turn into an exit whatever the guest's IF, and which, arriving while that CPU is in
/// L1, its run loop finds before its next entry ([`take_kick`]).
pub fn kick(cpu: CpuIndex) {
    if let Some(apic) = super::apic_of(cpu) {
        lapic::send_nmi(apic);
    }
}

/// Whether a kick reached CPU `cpu` in L1 since the last call (then the backend returns
/// an exit instead of entering, and the engine looks at what its guest executes). An NMI
/// between this check and the entry is only seen at the vCPU's next exit, at the latest
/// when its watchdog period ends.
#[inline]
pub fn take_kick(cpu: CpuIndex) -> bool {
    take(KICKED.of(cpu))
}

/// CPU `cpu`'s kick flag, for a backend to keep (its check before each entry is then
/// one load).
pub fn kick_flag(cpu: CpuIndex) -> &'static AtomicBool {
    KICKED.of(cpu)
}

/// Takes a kick flag ([`kick_flag`]): whether it was set.
#[inline(always)]
pub fn take(kicked: &AtomicBool) -> bool {
    kicked.load(Ordering::Relaxed) && kicked.swap(false, Ordering::Acquire)
}

/// Runs `job` on parked AP `cpu` (APIC ID `apic`) and returns its result, waiting at
/// most `ticks` TSC ticks for it to finish once taken.
pub fn run_on(cpu: CpuIndex, apic: u32, job: Job, ticks: u64) -> Result<u64, NotRun> {
    let seq = post(cpu, apic, job)?;
    let mailbox = MAILBOX.of(cpu);
    if super::wait(ticks, || mailbox.finished.load(Ordering::Acquire) == seq) {
        Ok(mailbox.result.load(Ordering::Relaxed))
    } else {
        Err(NotRun::Unfinished)
    }
}

/// Waits, without a limit, for the job [`post`] gave sequence number `seq` on `cpu` to
/// finish, and returns its result (a vCPU's run is bounded by its watchdog, or by
/// nothing, as on the boot CPU).
pub fn join(cpu: CpuIndex, seq: u64) -> u64 {
    let mailbox = MAILBOX.of(cpu);
    while mailbox.finished.load(Ordering::Acquire) != seq {
        core::hint::spin_loop();
    }
    mailbox.result.load(Ordering::Relaxed)
}

/// Posts `job` to parked AP `cpu` (APIC ID `apic`) and wakes it; returns once the AP
/// took it, with the job's sequence number (for [`join`]).
pub fn post(cpu: CpuIndex, apic: u32, job: Job) -> Result<u64, NotRun> {
    let mailbox = MAILBOX.of(cpu);
    *mailbox.job.lock() = Some(job);
    let seq = mailbox.posted.load(Ordering::Relaxed) + 1;
    mailbox.posted.store(seq, Ordering::Release);
    let taken = || mailbox.taken.load(Ordering::Acquire) == seq;
    let mut sent = 0;
    while !taken() {
        if sent == MAX_NMIS {
            return Err(NotRun::Unresponsive);
        }
        lapic::send_nmi(apic);
        sent += 1;
        super::wait(RESEND_AFTER, taken);
    }
    Ok(seq)
}

/// A parked AP's loop: run what its mailbox holds, else sleep until an NMI.
pub fn park(cpu: CpuIndex) -> ! {
    let mailbox = MAILBOX.of(cpu);
    loop {
        let seq = mailbox.posted.load(Ordering::Acquire);
        if seq != mailbox.taken.load(Ordering::Relaxed) {
            let job = mailbox.job.lock().take();
            mailbox.taken.store(seq, Ordering::Release);
            let result = job.map_or(0, |job| job(cpu));
            mailbox.result.store(result, Ordering::Relaxed);
            mailbox.finished.store(seq, Ordering::Release);
            continue;
        }
        cpu::halt_until_nmi();
    }
}
