//! The local APIC timer: the SVM backend's watchdog (VMX uses its preemption timer).
//! The one home of local-APIC MMIO (Intel SDM 3A §11.5.4 "APIC Timer"; AMD APM Vol. 2
//! §16.4 — same registers: LVT timer 0x320, initial count 0x380, divide 0x3E0, EOI 0xB0,
//! spurious-interrupt vector 0xF0).

use crate::percpu::{CpuIndex, MAX_CPUS, PerCpu};
use core::mem::offset_of;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use volatile::{VolatilePtr, map_field};

/// IDT vector of the timer interrupt.
pub const TIMER_VECTOR: u8 = 32;
const IA32_APIC_BASE: u32 = 0x1B;

static BASE: AtomicU64 = AtomicU64::new(0);
/// Whether each CPU's timer fired since that CPU armed it (set by its interrupt).
static FIRED: PerCpu<AtomicBool> = PerCpu::new([const { AtomicBool::new(false) }; MAX_CPUS]);

/// One local-APIC register: 32 bits at the start of its 16-byte slot (accessed as a
/// 32-bit word, as the SDM requires).
#[repr(C, align(16))]
#[derive(Debug, Clone, Copy)]
struct Register {
    value: u32,
}

/// The start of the local APIC's MMIO page, up to the last register L1 uses.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
struct Registers {
    _below_id: [Register; 2],
    /// 0x20: local APIC ID (xAPIC: bits 24..31).
    id: Register,
    _below_eoi: [Register; 8],
    /// 0xB0: end of interrupt (write 0).
    eoi: Register,
    _below_spurious: [Register; 3],
    /// 0xF0: spurious-interrupt vector; bit 8 software-enables the APIC.
    spurious: Register,
    _below_icr: [Register; 32],
    /// 0x300: interrupt command, low half (writing it sends the IPI; bit 12: pending).
    icr_low: Register,
    /// 0x310: interrupt command, high half (xAPIC: destination in bits 24..31).
    icr_high: Register,
    /// 0x320: LVT timer (vector, mask, mode).
    lvt_timer: Register,
    _below_initial_count: [Register; 5],
    /// 0x380: initial count (writing it starts the timer; 0 stops it).
    initial_count: Register,
    /// 0x390: current count (read-only).
    current_count: Register,
    _below_divide: [Register; 4],
    /// 0x3E0: divide configuration.
    divide: Register,
}

const _: () = assert!(offset_of!(Registers, id) == 0x20);
const _: () = assert!(offset_of!(Registers, eoi) == 0xB0);
const _: () = assert!(offset_of!(Registers, icr_low) == 0x300);
const _: () = assert!(offset_of!(Registers, icr_high) == 0x310);
const _: () = assert!(offset_of!(Registers, spurious) == 0xF0);
const _: () = assert!(offset_of!(Registers, lvt_timer) == 0x320);
const _: () = assert!(offset_of!(Registers, initial_count) == 0x380);
const _: () = assert!(offset_of!(Registers, current_count) == 0x390);
const _: () = assert!(offset_of!(Registers, divide) == 0x3E0);
const _: () = assert!(size_of::<Registers>() <= 4096);

/// The register page, or `None` before [`init`].
fn registers() -> Option<VolatilePtr<'static, Registers>> {
    let base = NonNull::new(BASE.load(Ordering::Relaxed) as *mut Registers)?;
    // SAFETY: a non-zero `BASE` is the local APIC's 4 KiB-aligned MMIO page from
    // IA32_APIC_BASE, inside the boot identity map for the whole run; only this module
    // touches it, through volatile 32-bit accesses, and its registers only steer the
    // timer and interrupt acceptance.
    Some(unsafe { VolatilePtr::new(base) })
}

/// Masks every line of the legacy 8259 PICs. Firmware leaves the PIT on IRQ0 (vector 8,
/// which would look like a double fault to L1), and on VMX an unmasked line would end
/// every guest run with an external-interrupt exit that nobody acknowledges. Called at
/// boot for every backend.
pub fn mask_legacy_pic() {
    for port in [0x21u16, 0xA1] {
        // SAFETY: the 8259 PIC data ports; masking every line touches no memory.
        unsafe { crate::cpu::Port::new(port) }.write_u8(0xFF);
    }
}

/// IA32_APIC_BASE bit 10: the APIC is in x2APIC mode (MSR access; the MMIO page is off).
const X2APIC_ENABLE: u64 = 1 << 10;

/// Finds the local APIC's MMIO page (IA32_APIC_BASE); false if it is in x2APIC mode,
/// where the MMIO registers this module uses do not answer (SDM 3A §11.12.1).
pub fn locate() -> bool {
    let msr = crate::cpu::rdmsr_safe(IA32_APIC_BASE).unwrap_or(0xFEE0_0000);
    BASE.store(msr & 0xF_FFFF_F000, Ordering::Relaxed);
    msr & X2APIC_ENABLE == 0
}

/// This CPU's local APIC ID (xAPIC mode), or `None` before [`locate`].
pub fn id() -> Option<u32> {
    registers().map(|apic| map_field!(apic.id.value).read() >> 24)
}

/// Sends an IPI with ICR low word `command` to the CPU whose APIC ID is `apic_id` and
/// waits until the APIC has sent it (delivery status, bit 12, clear; SDM 3A §11.6.1).
fn send_ipi(apic_id: u32, command: u32) {
    let Some(apic) = registers() else {
        return;
    };
    map_field!(apic.icr_high.value).write(apic_id << 24);
    map_field!(apic.icr_low.value).write(command);
    while map_field!(apic.icr_low.value).read() & (1 << 12) != 0 {
        core::hint::spin_loop();
    }
}

/// INIT, level assert (delivery mode 101b, bit 14): the target resets and waits for a
/// SIPI (SDM 3A §9.4.4.1).
pub fn send_init(apic_id: u32) {
    send_ipi(apic_id, 0x0000_4500);
}

/// Start-up IPI (delivery mode 110b): the target starts in real mode at `vector << 12`.
pub fn send_startup(apic_id: u32, vector: u8) {
    send_ipi(apic_id, 0x0000_4600 | u32::from(vector));
}

/// NMI (delivery mode 100b, level assert): wakes the target from `HLT` whatever its IF
/// (smp/mailbox.rs).
pub fn send_nmi(apic_id: u32) {
    send_ipi(apic_id, 0x0000_4400);
}

/// Enables the local APIC with the timer on [`TIMER_VECTOR`] (the SVM watchdog).
pub fn init() {
    locate();
    let Some(apic) = registers() else {
        return;
    };
    map_field!(apic.spurious.value).write(0x1FF); // spurious vector 0xFF, software-enabled
    map_field!(apic.divide.value).write(0b1010); // divide by 128
    map_field!(apic.lvt_timer.value).write(u32::from(TIMER_VECTOR)); // one-shot, unmasked
}

/// Arms the one-shot timer of this CPU (`cpu`) for `count` ticks (bus clock / 128); 0
/// disarms it.
pub fn arm(cpu: CpuIndex, count: u32) {
    FIRED.of(cpu).store(false, Ordering::Relaxed);
    if let Some(apic) = registers() {
        map_field!(apic.initial_count.value).write(count);
    }
}

/// How fast the timer runs against the TSC, measured once (the APIC bus rate differs per
/// engine: QEMU's is 1 GHz of its virtual clock, instructions under `-icount` and host
/// time without; Bochs' follows its instruction count).
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    /// Timer counts (bus clock / 128) per [`Rate::SAMPLE`] TSC ticks.
    counts: u64,
}

impl Rate {
    /// TSC ticks the measurement spans.
    pub const SAMPLE: u64 = 1 << 20;

    /// Measures the rate now.
    pub fn measure() -> Rate {
        let Some(apic) = registers() else {
            return Rate { counts: 1 };
        };
        map_field!(apic.initial_count.value).write(u32::MAX);
        let start = crate::cpu::rdtsc();
        while crate::cpu::rdtsc().wrapping_sub(start) < Self::SAMPLE {
            core::hint::spin_loop();
        }
        let left = map_field!(apic.current_count.value).read();
        map_field!(apic.initial_count.value).write(0);
        let counts = u64::from(u32::MAX - left).max(1);
        log::info!(
            "watchdog: {counts} APIC timer counts per {} TSC ticks",
            Self::SAMPLE
        );
        Rate { counts }
    }

    /// The count that lasts about `tsc` TSC ticks (at least 1).
    pub fn count_for(&self, tsc: u64) -> u32 {
        let count = u128::from(tsc) * u128::from(self.counts) / u128::from(Self::SAMPLE);
        u32::try_from(count.max(1)).unwrap_or(u32::MAX)
    }
}

/// Called by the IDT stub for [`TIMER_VECTOR`]: this CPU's own timer fired (the timer
/// is local; the CPU is found by its APIC ID).
pub fn timer_fired() {
    // No index before bring-up recorded the APIC IDs (or with an x2APIC): only the boot
    // CPU runs then.
    let cpu = crate::smp::this_cpu().unwrap_or(CpuIndex::BOOT);
    FIRED.of(cpu).store(true, Ordering::Relaxed);
    if let Some(apic) = registers() {
        map_field!(apic.eoi.value).write(0);
    }
}

/// Lets a pending interrupt in (IF=1 for one instruction) and says whether it was the
/// watchdog timer of this CPU (`cpu`).
pub fn take_pending(cpu: CpuIndex) -> bool {
    crate::cpu::interrupt_window();
    FIRED.of(cpu).swap(false, Ordering::Relaxed)
}
