//! Loading compartments from multiboot modules into their own EPT view.
//!
//! Each image is checked by `tessera_core::image` before hermit-entry's loader (which
//! panics on malformed ELF) touches it, relocated into fresh frames for its guest-physical
//! region, and mapped per program header; the stack gets a guard page on each side.

use crate::tables::FrameTables;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::mem::MaybeUninit;
use tessera_abi::entry::STACK_SIZE;
use tessera_core::caps::EptVpidCaps;
use tessera_core::frames::FrameAllocator;
use tessera_core::guest::{self, Region};
use tessera_core::image::{self, ImageLimits};
use tessera_core::multiboot::{Module, parse_cmdline};
use tessera_core::outcome::Expect;
use tessera_core::paging::{Ept, Eptp, PageTable, Perms};

/// The guest page tables and GDT page, built once and mapped read-only in every view.
#[derive(Debug)]
pub struct SharedPages {
    /// `(guest-physical, host-physical)` of each page.
    pub pages: Vec<(u64, u64)>,
}

impl SharedPages {
    /// Allocates and fills the pages `tessera_core::guest` describes.
    pub fn build(frames: &mut FrameAllocator) -> Option<Self> {
        let mut pages = Vec::new();
        for (gpa, entries) in guest::page_tables() {
            let hpa = crate::mem::zeroed_frame(frames)?;
            // SAFETY: a fresh zeroed frame owned by L1, 4 KiB = 512 entries.
            unsafe { core::ptr::copy_nonoverlapping(entries.as_ptr(), hpa as *mut u64, 512) };
            pages.push((gpa, hpa));
        }
        let hpa = crate::mem::zeroed_frame(frames)?;
        let gdt = guest::gdt();
        // SAFETY: as above; the GDT is 5 entries at the start of the page (the TSS that
        // follows at TSS_OFFSET stays zero, which a 64-bit TSS may be).
        unsafe { core::ptr::copy_nonoverlapping(gdt.as_ptr(), hpa as *mut u64, gdt.len()) };
        pages.push((guest::GDT_GPA, hpa));
        Some(SharedPages { pages })
    }
}

/// A compartment ready to run.
#[derive(Debug)]
pub struct Compartment {
    pub name: String,
    pub region: Region,
    pub entry: u64,
    pub view: PageTable<Ept>,
    pub eptp: u64,
}

/// Name and expectation from a module command line (`PATH NAME [expect=...]`).
pub fn describe(module: &Module, index: usize) -> (String, Result<Expect, String>) {
    let args = parse_cmdline(&module.cmdline);
    let name = args
        .iter()
        .find(|(_, v)| v.is_none())
        .map(|(k, _)| k.clone())
        .unwrap_or_else(|| alloc::format!("module{index}"));
    let expect = match args.iter().find(|(k, _)| k == "expect") {
        Some((_, Some(v))) => Expect::parse(v).map_err(|e| e.to_string()),
        Some((_, None)) => Err(String::from("expect needs a value")),
        None => Ok(Expect::default()),
    };
    (name, expect)
}

/// Validates, loads and maps one module. The error names the module and the problem.
pub fn load(
    name: &str,
    index: usize,
    bytes: &[u8],
    shared: &SharedPages,
    ept_caps: &EptVpidCaps,
    maxphyaddr: u8,
    frames: &mut FrameAllocator,
) -> Result<Compartment, String> {
    let region = guest::region(index, STACK_SIZE).ok_or("no guest-physical region left")?;
    let plan = image::validate(
        name,
        bytes,
        &ImageLimits {
            max_span: region.max_image_span,
        },
    )
    .map_err(|e| e.to_string())?;
    if plan.fixed_base.is_some() {
        return Err(alloc::format!(
            "module '{name}': not relocatable (ET_EXEC); build it with the Tessera SDK"
        ));
    }
    let align = plan.align.max(0x1000);
    let image_frames = (plan.span / 0x1000) as usize;
    let image_hpa = frames.alloc_aligned(image_frames, align).ok_or_else(|| {
        alloc::format!(
            "module '{name}': out of memory for {} KiB image",
            plan.span >> 10
        )
    })?;
    // SAFETY: the allocator handed out these frames exclusively, identity-mapped; zeroing
    // them leaves no stale data between segments (DESIGN: nothing leaks across views).
    unsafe { core::ptr::write_bytes(image_hpa as *mut u8, 0, plan.span as usize) };
    let object = hermit_entry::elf::KernelObject::parse(bytes)
        .map_err(|e| alloc::format!("module '{name}': {e}"))?;
    // SAFETY: `mem_size <= span` bytes of the frames just zeroed, owned by this function;
    // MaybeUninit<u8> has the layout of u8.
    let memory = unsafe {
        core::slice::from_raw_parts_mut(image_hpa as *mut MaybeUninit<u8>, plan.mem_size as usize)
    };
    // Core's validation rules out everything hermit-entry asserts on (see core::image).
    let loaded = object.load_kernel(memory, region.base);
    if loaded.entry_point != region.base + plan.entry_offset {
        return Err(alloc::format!(
            "module '{name}': loader and validator disagree on the entry point"
        ));
    }

    let mut tables = FrameTables { frames };
    let mut view = PageTable::new(Ept::new(ept_caps.execute_only), maxphyaddr, &mut tables)
        .map_err(|e| alloc::format!("view for '{name}': {e}"))?;
    let map_err = |e| alloc::format!("view for '{name}': {e}");
    for (gpa, hpa) in &shared.pages {
        view.map_range(&mut tables, *gpa, *hpa, 0x1000, Perms::R)
            .map_err(map_err)?;
    }
    for seg in &plan.segments {
        view.map_range(
            &mut tables,
            region.base + seg.offset,
            image_hpa + seg.offset,
            seg.len,
            seg.perms,
        )
        .map_err(map_err)?;
    }
    let stack_len = region.stack_top - region.stack_bottom;
    let stack_hpa = tables
        .frames
        .alloc((stack_len / 0x1000) as usize)
        .ok_or_else(|| alloc::format!("module '{name}': out of memory for its stack"))?;
    // SAFETY: fresh frames from the allocator, owned, identity-mapped.
    unsafe { core::ptr::write_bytes(stack_hpa as *mut u8, 0, stack_len as usize) };
    view.map_range(
        &mut tables,
        region.stack_bottom,
        stack_hpa,
        stack_len,
        Perms::RW,
    )
    .map_err(map_err)?;
    let eptp = Eptp::encode(
        view.root(),
        tessera_core::paging::MemoryType::WriteBack,
        4,
        false,
    )
    .map_err(|e| alloc::format!("view for '{name}': {e}"))?
    .bits();
    Ok(Compartment {
        name: name.into(),
        region,
        entry: loaded.entry_point,
        view,
        eptp,
    })
}
