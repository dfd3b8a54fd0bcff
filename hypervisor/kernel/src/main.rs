//! Tessera: an L1 micro-hypervisor that runs an application as isolated compartments.
//!
//! This binary is thin glue: it reads the machine, hands what it read to
//! `tessera_core`, and writes back what core decides.
#![no_std]
#![no_main]
// Issue 13's size rule: no function over 80 lines (the threshold is in clippy.toml).
#![deny(clippy::too_many_lines)]

extern crate alloc;

mod boot;
mod cpu;
#[cfg(feature = "fixture")]
mod fixture;
mod gate;
mod gdt;
mod heap;
mod idt;
mod lapic;
mod loader;
mod logger;
mod mem;
mod percpu;
mod phys;
mod probe;
mod regs;
mod run;
mod serial;
mod shutdown;
mod smp;
mod svm;
mod vmx;

/// Size of the boot stack (in .bss).
pub const BOOT_STACK_SIZE: usize = 256 * 1024;

/// Rust entry, called by `boot.rs` in long mode with the multiboot magic and info address.
pub extern "C" fn kmain(magic: u32, info: u32) -> ! {
    init();
    let boot = match mem::boot_info(magic, info) {
        Ok(boot) => boot,
        Err(e) => shutdown::fail(format_args!("multiboot: {e}")),
    };
    let level = boot
        .args()
        .into_iter()
        .find(|(k, _)| k == "log")
        .and_then(|(_, v)| v)
        .and_then(|v| v.parse().ok())
        .unwrap_or(log::LevelFilter::Info);
    log::set_max_level(level);
    log::info!(
        "loader {:?}, command line {:?}, {} module(s)",
        boot.bootloader.as_deref().unwrap_or("?"),
        boot.cmdline.as_deref().unwrap_or(""),
        boot.modules.len()
    );
    let mut memory = phys::PhysMemory::new(mem::frame_allocator(&boot));
    report_memory(&boot, &memory);
    let caps = probe_machine();
    // The APs' VMXON regions / host save areas live as long as this frame (kmain never
    // returns).
    let aps = smp::start_aps(&boot, &caps, &mut memory);
    log::info!("{} CPU(s) online, one vCPU each", aps.online);
    // VMX root operation, if this is a VMX CPU: a failure stops a boot that has
    // compartments to run, naming the VMXON error.
    let vmx_root = caps.vmx.as_ref().map(|vmx_caps| {
        let root = vmx::enable(vmx_caps, &mut memory).map_err(|e| alloc::format!("{e}"));
        match &root {
            Ok(root) => {
                log::info!(
                    "VMX root operation entered (VMXON region {:#x})",
                    root.vmxon_region.start()
                );
                sprintln!("{} vmx.vmxon=1", tessera_abi::transcript::CAP);
            }
            Err(e) => {
                log::warn!("cannot enter VMX operation: {e}");
                sprintln!("{} vmx.vmxon=0", tessera_abi::transcript::CAP);
            }
        }
        root.map(|_| ())
    });
    let verdict = run::run_modules(&boot, &caps, (vmx_root, aps.online), memory);
    shutdown::finish(&verdict)
}

/// The CPU tables, COM1, the logger and the heap.
fn init() {
    serial::SERIAL.lock().init();
    logger::init(log::LevelFilter::Info);
    idt::init();
    gdt::init();
    cpu::zero_segment_bases();
    lapic::mask_legacy_pic();
    heap::init();
    log::info!(
        "Tessera {} (ABI {})",
        env!("CARGO_PKG_VERSION"),
        tessera_abi::ABI_VERSION
    );
}

/// `@@BOOT`: RAM, what is free for frames, modules.
fn report_memory(boot: &tessera_core::multiboot::BootInfo, memory: &phys::PhysMemory) {
    use tessera_engine::port::Memory;
    let image = mem::kernel_image();
    let ram: u64 = boot
        .usable_memory_map()
        .iter()
        .filter(|r| r.kind == tessera_core::multiboot::RegionKind::Available)
        .map(|r| r.len)
        .sum();
    let free = memory.free_bytes();
    log::info!(
        "kernel image {:#x}..{:#x}; {} MiB RAM, {} MiB free for frames",
        image.start,
        image.end,
        ram >> 20,
        free >> 20
    );
    sprintln!(
        "{} memory_mib={} free_mib={} modules={}",
        tessera_abi::transcript::BOOT,
        ram >> 20,
        free >> 20,
        boot.modules.len()
    );
}

/// Reads the capability MSRs and CPUID (`@@RAW`, `@@CAP`) and decodes them in core.
fn probe_machine() -> tessera_core::caps::Capabilities {
    let dump = probe::read_machine();
    let caps = tessera_core::caps::Capabilities::decode(&dump);
    for line in caps.report_lines() {
        log::info!("{line}");
    }
    for line in dump.to_lines() {
        sprintln!("{line}");
    }
    for line in caps.cap_transcript() {
        sprintln!("{line}");
    }
    caps
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    serial::force_unlock();
    sprintln!("L1 panic: {info}");
    shutdown::fail(format_args!("panic"))
}
