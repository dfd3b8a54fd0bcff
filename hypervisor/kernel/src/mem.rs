//! Physical memory: the multiboot structures read in place, and the frame allocator that
//! hands out everything the kernel image, the modules and those structures do not use.

use alloc::vec::Vec;
use core::ops::Range;
use tessera_core::frames::{FrameAllocator, free_ranges};
use tessera_core::multiboot::{BootInfo, MultibootError, PhysMem};

/// The boot page tables identity-map the first 4 GiB (see `boot.rs`).
const IDENTITY_MAPPED: u64 = 1 << 32;

/// Physical memory read in place through the boot identity map.
struct IdentityMapped;

impl PhysMem for IdentityMapped {
    fn read(&self, addr: u64, len: usize) -> Option<&[u8]> {
        let end = addr.checked_add(len as u64)?;
        if addr == 0 || end > IDENTITY_MAPPED {
            return None;
        }
        // SAFETY: [addr, end) lies in the identity-mapped first 4 GiB, so it is mapped and
        // readable (unbacked physical addresses read as all-ones, they do not fault). Only
        // the multiboot structures and modules are read this way; nothing writes them
        // while the returned borrow lives (one CPU, and the kernel never writes there).
        Some(unsafe { core::slice::from_raw_parts(addr as *const u8, len) })
    }
}

unsafe extern "C" {
    static __image_start: u8;
    static __bss_end: u8;
}

/// Physical range of the kernel image, .bss (and so the heap and boot stack) included.
pub fn kernel_image() -> Range<u64> {
    (&raw const __image_start) as u64..(&raw const __bss_end) as u64
}

/// Parses the multiboot information the loader left at `info`.
pub fn boot_info(magic: u32, info: u32) -> Result<BootInfo, MultibootError> {
    BootInfo::parse(magic, info, &IdentityMapped)
}

/// Builds the frame allocator over RAM not used by the kernel, the modules or the
/// multiboot structures (nor anything below 1 MiB).
pub fn frame_allocator(info: &BootInfo) -> FrameAllocator {
    let mut reserved: Vec<Range<u64>> = Vec::new();
    reserved.push(kernel_image());
    reserved.extend(info.modules.iter().map(|m| m.start..m.end));
    reserved.extend(info.structures.iter().cloned());
    let usable: Vec<Range<u64>> = free_ranges(&info.memory_map, &reserved)
        .into_iter()
        .filter_map(|r| (r.start < IDENTITY_MAPPED).then(|| r.start..r.end.min(IDENTITY_MAPPED)))
        .collect();
    FrameAllocator::new(usable)
}

/// A module's bytes, read in place (modules are never written, and stay mapped).
pub fn module_bytes(start: u64, end: u64) -> Option<&'static [u8]> {
    let len = usize::try_from(end.checked_sub(start)?).ok()?;
    if start == 0 || end > IDENTITY_MAPPED {
        return None;
    }
    // SAFETY: [start, end) lies in the identity-mapped first 4 GiB; the frame allocator
    // excludes module ranges, so nothing in L1 ever writes there, and the mapping lasts
    // for the whole run.
    Some(unsafe { core::slice::from_raw_parts(start as *const u8, len) })
}

/// The MADT the firmware left, read in place; with the kernel argument `acpi=dump`, the
/// memory map's ACPI ranges (where UEFI firmware leaves the RSDP) are printed as `@@RAW
/// acpi memory=START..END` and every table on the way as `@@RAW acpi table=SIG addr=ADDR
/// bytes=HEX` (how the fixtures in hypervisor/core/tests/fixtures/acpi/ were recorded).
pub fn acpi(info: &BootInfo) -> Result<tessera_core::acpi::Found, tessera_core::acpi::AcpiError> {
    let found = tessera_core::acpi::find_madt(&IdentityMapped, &info.acpi_memory())?;
    let dump = info
        .args()
        .iter()
        .any(|(k, v)| k == "acpi" && v.as_deref() == Some("dump"));
    if dump {
        for range in info.acpi_memory() {
            crate::sprintln!(
                "{} acpi memory={:#x}..{:#x}",
                tessera_abi::transcript::RAW,
                range.start,
                range.end
            );
        }
        let rsdp = (*b"RSDP", found.rsdp.addr, found.rsdp.len());
        for (sig, addr, len) in core::iter::once(rsdp).chain(found.tables.iter().copied()) {
            let bytes = IdentityMapped.read(addr, len).unwrap_or(&[]);
            let mut hex = alloc::string::String::with_capacity(2 * bytes.len());
            for b in bytes {
                use core::fmt::Write;
                let _ = write!(hex, "{b:02x}");
            }
            crate::sprintln!(
                "{} acpi table={} addr={addr:#x} bytes={hex}",
                tessera_abi::transcript::RAW,
                core::str::from_utf8(&sig).unwrap_or("?")
            );
        }
    }
    Ok(found)
}

/// Whether the AP trampoline's page is free RAM nothing else uses.
pub fn trampoline_page_free(info: &BootInfo) -> bool {
    let mut reserved: Vec<Range<u64>> = info.modules.iter().map(|m| m.start..m.end).collect();
    reserved.extend(info.structures.iter().cloned());
    tessera_core::smp::page_free(&info.memory_map, &reserved, tessera_core::smp::TRAMPOLINE)
}
