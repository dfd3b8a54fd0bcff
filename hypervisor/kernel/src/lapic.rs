//! The local APIC timer: the SVM backend's watchdog (VMX uses its preemption timer).
//! The one home of local-APIC MMIO (Intel SDM 3A §11.5.4 "APIC Timer"; AMD APM Vol. 2
//! §16.4 — same registers: LVT timer 0x320, initial count 0x380, divide 0x3E0, EOI 0xB0,
//! spurious-interrupt vector 0xF0).

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// IDT vector of the timer interrupt.
pub const TIMER_VECTOR: u8 = 32;
const IA32_APIC_BASE: u32 = 0x1B;

static BASE: AtomicU64 = AtomicU64::new(0);
static FIRED: AtomicBool = AtomicBool::new(false);

fn write(offset: u64, value: u32) {
    let base = BASE.load(Ordering::Relaxed);
    if base == 0 {
        return;
    }
    // SAFETY: `base` is the local APIC's MMIO page from IA32_APIC_BASE, inside the boot
    // identity map; these registers only steer the timer and interrupt acceptance.
    unsafe { ((base + offset) as *mut u32).write_volatile(value) };
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

/// Enables the local APIC with the timer on [`TIMER_VECTOR`] (the SVM watchdog).
pub fn init() {
    let base = crate::cpu::rdmsr_safe(IA32_APIC_BASE).map_or(0xFEE0_0000, |v| v & 0xF_FFFF_F000);
    BASE.store(base, Ordering::Relaxed);
    write(0xF0, 0x1FF); // spurious vector 0xFF, APIC software-enabled (bit 8)
    write(0x3E0, 0b1010); // divide by 128
    write(0x320, u32::from(TIMER_VECTOR)); // one-shot, unmasked
}

/// Arms the one-shot timer for `count` ticks (bus clock / 128); 0 disarms it.
pub fn arm(count: u32) {
    FIRED.store(false, Ordering::Relaxed);
    write(0x380, count);
}

/// How fast the timer runs against the TSC, measured once (the APIC bus rate differs per
/// engine: QEMU's is 1 GHz of host time, Bochs' follows its instruction count).
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
        let base = BASE.load(Ordering::Relaxed);
        if base == 0 {
            return Rate { counts: 1 };
        }
        write(0x380, u32::MAX);
        let start = crate::cpu::rdtsc();
        while crate::cpu::rdtsc().wrapping_sub(start) < Self::SAMPLE {
            core::hint::spin_loop();
        }
        // SAFETY: as in `write`; the current-count register only reads the timer.
        let left = unsafe { ((base + 0x390) as *const u32).read_volatile() };
        write(0x380, 0);
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

/// Called by the IDT stub for [`TIMER_VECTOR`].
pub fn timer_fired() {
    FIRED.store(true, Ordering::Relaxed);
    write(0xB0, 0);
}

/// Lets a pending interrupt in (IF=1 for one instruction) and says whether it was the
/// watchdog timer.
pub fn take_pending() -> bool {
    crate::cpu::interrupt_window();
    FIRED.swap(false, Ordering::Relaxed)
}
