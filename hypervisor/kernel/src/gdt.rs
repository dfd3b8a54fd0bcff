//! L1's own GDT with a TSS, one of each per CPU: VM exits load the host TR selector,
//! which must not be 0 (SDM 3C §27.2.3 "Checks on Host Segment and Descriptor-Table
//! Registers"), and LTR marks a TSS descriptor busy, so no two CPUs can share one.

use crate::percpu::{CpuIndex, PerCpu};
use core::arch::asm;
use spin::Once;

/// 64-bit TSS (SDM 3A §8.7, Figure 8-11). L1 uses none of its stacks; it exists for TR.
#[repr(C, packed(4))]
struct Tss {
    reserved0: u32,
    rsp: [u64; 3],
    reserved1: u64,
    ist: [u64; 7],
    reserved2: u64,
    reserved3: u16,
    iomap_base: u16,
}

const EMPTY_TSS: Tss = Tss {
    reserved0: 0,
    rsp: [0; 3],
    reserved1: 0,
    ist: [0; 7],
    reserved2: 0,
    reserved3: 0,
    iomap_base: core::mem::size_of::<Tss>() as u16,
};

static TSS: PerCpu<Tss> = PerCpu::new([EMPTY_TSS; crate::percpu::MAX_CPUS]);

/// Selectors of this GDT.
pub const CODE: u16 = 0x08;
/// Data selector.
pub const DATA: u16 = 0x10;
/// TSS selector.
pub const TSS_SELECTOR: u16 = 0x18;

#[repr(C, align(16))]
struct Gdt([u64; 5]);

static GDT: PerCpu<Once<Gdt>> = PerCpu::new([const { Once::new() }; crate::percpu::MAX_CPUS]);

/// Address of CPU `cpu`'s TSS (the host TR base of the VMCSs that CPU runs).
pub fn tss_base(cpu: CpuIndex) -> u64 {
    tss_base_of(cpu)
}

fn tss_base_of(cpu: CpuIndex) -> u64 {
    core::ptr::from_ref(TSS.of(cpu)) as u64
}

/// Address of CPU `cpu`'s GDT (the host GDTR base of the VMCSs that CPU runs); 0 before
/// [`init_for`] ran there.
pub fn gdt_base(cpu: CpuIndex) -> u64 {
    GDT.of(cpu).get().map_or(0, |g| g.0.as_ptr() as u64)
}

/// Loads the boot CPU's GDT and TR.
pub fn init() {
    init_for(CpuIndex::BOOT);
}

/// Loads CPU `cpu`'s GDT with code, data and an available TSS, then TR. Called once on
/// each CPU, by that CPU.
pub fn init_for(cpu: CpuIndex) {
    let tss = tss_base_of(cpu);
    let limit = (core::mem::size_of::<Tss>() - 1) as u64;
    let tss_low =
        (limit & 0xFFFF) | ((tss & 0xFF_FFFF) << 16) | (0x89 << 40) | (((tss >> 24) & 0xFF) << 56);
    let gdt = GDT.of(cpu).call_once(|| {
        Gdt([
            0,
            0x00AF_9A00_0000_FFFF,
            0x00CF_9200_0000_FFFF,
            tss_low,
            tss >> 32,
        ])
    });
    #[repr(C, packed)]
    struct Pointer {
        limit: u16,
        base: u64,
    }
    let ptr = Pointer {
        limit: (core::mem::size_of::<Gdt>() - 1) as u16,
        base: gdt.0.as_ptr() as u64,
    };
    // SAFETY: the GDT lives in a static; its code and data descriptors equal the boot GDT's
    // (and the AP trampoline's) at the same selectors, so reloading CS/SS/DS/ES with them
    // keeps the current segments' meaning; the TSS descriptor points at this CPU's own
    // static TSS and is loaded once, by this CPU (LTR marks it busy; it is never loaded
    // again).
    unsafe {
        asm!(
            "lgdt [{ptr}]",
            "push {code}",
            "lea {tmp}, [rip + 2f]",
            "push {tmp}",
            "retfq",
            "2:",
            "mov ds, {data:x}",
            "mov es, {data:x}",
            "mov ss, {data:x}",
            "ltr {tss:x}",
            ptr = in(reg) &ptr,
            code = in(reg) u64::from(CODE),
            data = in(reg) u64::from(DATA),
            tss = in(reg) u64::from(TSS_SELECTOR),
            tmp = out(reg) _,
        )
    };
}
