//! Application processors (docs/architecture.md "SMP"): found in the MADT, started with
//! INIT-SIPI-SIPI one at a time, brought to long mode with their own stack, GDT and TSS
//! (and the shared, read-only IDT), and parked: each reports `@@CPU index=K apic=ID
//! state=online` and sleeps in `HLT` with interrupts off until an NMI brings it a job
//! (`mailbox.rs`). Once all are up, the boot CPU hands each a first job, and each
//! reports `@@CPU index=K apic=ID state=ready` from it: the wake-up path works. With
//! compartments to run, each AP's next job runs its vCPU (`vcpus.rs`).
//!
//! Each AP also enters the boot CPU's virtualisation mode on its own VMXON region or
//! host save area (`virt.rs`) and says so on its `@@CPU` line (`vmxon=1`, `svme=1`);
//! its vCPU job then builds its own VMCS/VMCB, whose host state names its own GDT and
//! TSS (`gdt` keeps one per CPU) and the stack it runs on.

mod mailbox;
mod trampoline;
mod vcpus;
mod virt;

pub use mailbox::{kick, kick_flag, on_nmi, take};
pub use vcpus::{Build, kicked, run as run_vcpus};

use crate::percpu::{CpuIndex, MAX_CPUS, PerCpu};
use crate::phys::PhysMemory;
use crate::{cpu, gdt, idt, lapic, sprintln};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use tessera_core::caps::Capabilities;
use tessera_core::multiboot::BootInfo;
use tessera_core::smp::{SIPI_VECTOR, TRAMPOLINE};
use tessera_engine::port::Frames;
use trampoline::*;

/// Each AP's stack.
const AP_STACK_SIZE: usize = 64 * 1024;
/// TSC ticks to wait after INIT. The SDM's 10 ms is for CPUs with an external APIC;
/// every CPU with VMX or SVM has an integrated one, and Linux waits 0 there
/// (`smp_quirk_init_udelay`); a short wait keeps INIT and SIPI apart. (2^25 cost Bochs
/// 34 M instructions per AP.)
const INIT_WAIT: u64 = 1 << 16;
/// TSC ticks to wait, at most, for an AP to report after the first SIPI (≥ the SDM's
/// 200 µs up to a 5 GHz TSC) and after the second; a second SIPI to an AP that already
/// runs is ignored (SDM 3A §9.4.4.1).
const SIPI_WAITS: [u64; 2] = [1 << 20, 1 << 28];

/// Set by each AP once it runs Rust on its own tables; read by the boot CPU.
static ONLINE: PerCpu<AtomicBool> = PerCpu::new([const { AtomicBool::new(false) }; MAX_CPUS]);
/// Each CPU's local APIC ID, recorded by the boot CPU as it starts it (`u32::MAX`: none).
static APIC: PerCpu<AtomicU32> = PerCpu::new([const { AtomicU32::new(u32::MAX) }; MAX_CPUS]);
/// TSC ticks an AP's first job may take.
const FIRST_JOB_TICKS: u64 = 1 << 28;

/// CPU `cpu`'s local APIC ID, once the boot CPU has started it.
fn apic_of(cpu: CpuIndex) -> Option<u32> {
    Some(APIC.of(cpu).load(Ordering::Acquire)).filter(|&a| a != u32::MAX)
}

/// This CPU's index, from its local APIC ID (`None` before bring-up recorded it).
pub fn this_cpu() -> Option<CpuIndex> {
    let apic = lapic::id()?;
    (0..MAX_CPUS)
        .filter_map(CpuIndex::new)
        .find(|&k| apic_of(k) == Some(apic))
}

fn cpu_line(index: usize, apic: u32, state: &str) {
    sprintln!(
        "{} index={index} apic={apic} state={state}",
        tessera_abi::transcript::CPU
    );
}

/// What the APs own for the rest of the run (their VMXON regions or host save areas).
pub struct Aps {
    pub online: usize,
    /// Held, never read: the frames belong to the APs until the machine ends.
    _owned: Vec<Frames>,
}

/// Starts the CPUs the MADT lists (at most `cpus=N` of them, the boot CPU included) and
/// parks them; prints one `@@CPU` line per CPU.
pub fn start_aps(boot: &BootInfo, caps: &Capabilities, mem: &mut PhysMemory) -> Aps {
    virt::choose(caps);
    let mut owned = Vec::new();
    let online = start_all(boot, mem, &mut owned);
    Aps {
        online,
        _owned: owned,
    }
}

fn start_all(boot: &BootInfo, mem: &mut PhysMemory, owned: &mut Vec<Frames>) -> usize {
    let x_apic = lapic::locate();
    let boot_apic = lapic::id().unwrap_or(0);
    APIC.of(CpuIndex::BOOT).store(boot_apic, Ordering::Release);
    cpu_line(0, boot_apic, "online");
    let limit = tessera_core::smp::cpus_arg(
        boot.args()
            .into_iter()
            .find(|(k, _)| k == "cpus")
            .and_then(|(_, v)| v)
            .as_deref(),
    );
    if limit == Some(1) {
        return 1;
    }
    let found = match crate::mem::acpi(boot) {
        Ok(found) => found,
        Err(e) => {
            log::info!("SMP: no MADT ({e}): the boot CPU alone");
            return 1;
        }
    };
    let ids = tessera_core::acpi::chosen(&found.madt, boot_apic, limit);
    if ids.len() == 1 {
        return 1; // nothing to start: the trampoline page is left alone
    }
    if !x_apic {
        log::warn!("SMP: the local APIC is in x2APIC mode; only the boot CPU runs");
        return 1;
    }
    if !crate::mem::trampoline_page_free(boot) {
        log::warn!("SMP: page {TRAMPOLINE:#x} is not free RAM; only the boot CPU runs");
        return 1;
    }
    copy_trampoline();
    let started = cpu::rdtsc();
    let mut up = Vec::new();
    for (k, &apic) in ids.iter().enumerate().skip(1) {
        let Some(index) = CpuIndex::new(k) else { break };
        virt::prepare(index, mem, owned);
        APIC.of(index).store(apic, Ordering::Release);
        if start_one(index, apic) {
            up.push((index, apic));
        } else {
            cpu_line(k, apic, "timeout");
        }
    }
    log::info!(
        "SMP: {} of {} CPU(s) online after {} TSC ticks",
        up.len() + 1,
        ids.len(),
        cpu::rdtsc().wrapping_sub(started)
    );
    for &(index, apic) in &up {
        first_job(index, apic);
    }
    up.len() + 1
}

/// Wakes AP `index` with its first job, which reports `state=ready` itself; the boot
/// CPU reports `state=unresponsive` if it did not take it, or answered wrongly.
fn first_job(index: CpuIndex, apic: u32) {
    let ready: mailbox::Job = |cpu| {
        let apic = lapic::id().unwrap_or(u32::MAX);
        cpu_line(cpu.get(), apic, "ready");
        u64::from(apic)
    };
    match mailbox::run_on(index, apic, ready, FIRST_JOB_TICKS) {
        Ok(answer) if answer == u64::from(apic) => {}
        Ok(answer) => {
            log::warn!("SMP: CPU {} answered APIC ID {answer}", index.get());
            cpu_line(index.get(), apic, "unresponsive");
        }
        Err(e) => {
            log::warn!("SMP: CPU {}: first job {e:?}", index.get());
            cpu_line(index.get(), apic, "unresponsive");
        }
    }
}

/// Copies the trampoline to its page.
fn copy_trampoline() {
    let start = (&raw const tessera_ap_start) as usize;
    let len = (&raw const tessera_ap_end) as usize - start;
    assert!(len <= 4096, "the AP trampoline outgrew its page");
    // SAFETY: `mem::trampoline_page_free` found the page available RAM that neither the
    // frame allocator (nothing below 1 MiB), the kernel, the modules nor the multiboot
    // structures use; it is identity-mapped and writable, and no AP runs yet.
    unsafe { core::ptr::copy_nonoverlapping(start as *const u8, TRAMPOLINE as *mut u8, len) };
}

/// The trampoline copy's slot that `symbol` names.
fn slot(symbol: *const u8) -> *mut u64 {
    let offset = symbol as u64 - (&raw const tessera_ap_start) as u64;
    (TRAMPOLINE + offset) as *mut u64
}

/// Starts one AP and waits until it is online.
fn start_one(index: CpuIndex, apic: u32) -> bool {
    let stack = alloc::vec![0u8; AP_STACK_SIZE].leak();
    let top = (stack.as_ptr() as u64 + AP_STACK_SIZE as u64) & !0xF;
    let entry: extern "C" fn(u64) -> ! = ap_main;
    for (symbol, value) in [
        (&raw const tessera_ap_cr3, cpu::read_cr3()),
        (&raw const tessera_ap_stack, top),
        (&raw const tessera_ap_index, index.get() as u64),
        (&raw const tessera_ap_entry, entry as usize as u64),
    ] {
        // SAFETY: the slots are 8-aligned u64s inside the trampoline page copied above;
        // the previous AP (if any) has read them (it reported online), the next starts
        // only after this one did.
        unsafe { slot(symbol).write_volatile(value) };
    }
    lapic::send_init(apic);
    wait(INIT_WAIT, || false);
    for ticks in SIPI_WAITS {
        lapic::send_startup(apic, SIPI_VECTOR);
        if wait(ticks, || ONLINE.of(index).load(Ordering::Acquire)) {
            return true;
        }
    }
    false
}

/// Spins until `done` or `ticks` TSC ticks have passed; whether `done` held.
fn wait(ticks: u64, done: impl Fn() -> bool) -> bool {
    let start = cpu::rdtsc();
    while cpu::rdtsc().wrapping_sub(start) < ticks {
        if done() {
            return true;
        }
        core::hint::spin_loop();
    }
    done()
}

/// An AP's first Rust: its own GDT and TSS, the IDT, then report and park (its mailbox).
extern "C" fn ap_main(index: u64) -> ! {
    let Some(cpu) = usize::try_from(index).ok().and_then(CpuIndex::new) else {
        cpu::halt_forever()
    };
    gdt::init_for(cpu);
    idt::init();
    cpu::zero_segment_bases();
    let virt = virt::enter(cpu);
    let apic = lapic::id().unwrap_or(u32::MAX);
    cpu_line(cpu.get(), apic, &alloc::format!("online{virt}"));
    ONLINE.of(cpu).store(true, Ordering::Release);
    mailbox::park(cpu)
}
