//! Tessera: an L1 micro-hypervisor that runs an application as isolated compartments.
//!
//! This binary is thin glue: it reads the machine, hands what it read to
//! `tessera_core`, and writes back what core decides.
#![no_std]
#![no_main]

extern crate alloc;

mod backend;
mod boot;
mod compartment;
mod conformance;
mod console;
mod cpu;
mod env;
mod exec;
mod gate;
mod gate_pages;
mod gdt;
mod heap;
mod hypercalls;
mod idt;
mod lapic;
mod logger;
mod mem;
mod place;
mod probe;
mod regs;
mod run;
mod serial;
mod shutdown;
mod stacks;
mod stats;
mod svm;
mod system;
mod tables;
mod ud;
mod unwind;
mod view_check;
mod vmx;

/// Size of the boot stack (in .bss).
pub const BOOT_STACK_SIZE: usize = 256 * 1024;

/// Rust entry, called by `boot.rs` in long mode with the multiboot magic and info address.
pub extern "C" fn kmain(magic: u32, info: u32) -> ! {
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
    let image = mem::kernel_image();
    let mut frames = mem::frame_allocator(&boot);
    let ram: u64 = boot
        .usable_memory_map()
        .iter()
        .filter(|r| r.kind == tessera_core::multiboot::RegionKind::Available)
        .map(|r| r.len)
        .sum();
    log::info!(
        "kernel image {:#x}..{:#x}; {} MiB RAM, {} MiB free for frames",
        image.start,
        image.end,
        ram >> 20,
        frames.free_bytes() >> 20
    );
    sprintln!(
        "{} memory_mib={} free_mib={} modules={}",
        tessera_abi::transcript::BOOT,
        ram >> 20,
        frames.free_bytes() >> 20,
        boot.modules.len()
    );

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
    // VMX root operation, if this is a VMX CPU: a failure stops a boot that has
    // compartments to run (run_modules), naming the VMXON error.
    let vmx_root = caps.vmx.as_ref().map(|vmx_caps| {
        let root = vmx::enable(vmx_caps, &mut frames).map_err(|e| alloc::format!("{e}"));
        match &root {
            Ok(root) => {
                log::info!(
                    "VMX root operation entered (VMXON region {:#x})",
                    root.vmxon_region
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
    if let Err(reason) = run::run_modules(&boot, &caps, vmx_root, &mut frames) {
        shutdown::fail(format_args!("{reason}"));
    }
    shutdown::pass()
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    serial::force_unlock();
    sprintln!("L1 panic: {info}");
    shutdown::fail(format_args!("panic"))
}
