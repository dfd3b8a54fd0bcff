//! Loading compartment images from multiboot modules.
//!
//! Each image is checked by `tessera_core::image` before hermit-entry's loader (which
//! panics on malformed ELF) touches it, then relocated into fresh frames for the
//! guest-physical base the layout planner gave it.

use alloc::string::{String, ToString};
use core::mem::MaybeUninit;
use tessera_core::frames::FrameAllocator;
use tessera_core::image::{self, ImageLimits, ImagePlan};
use tessera_core::multiboot::{Module, parse_cmdline};
use tessera_core::outcome::Expect;

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

/// A validated image, before it has a place.
#[derive(Debug)]
pub struct Checked<'a> {
    pub bytes: &'a [u8],
    pub plan: ImagePlan,
}

/// Validates an image; the error names the module and the problem.
pub fn check<'a>(name: &str, bytes: &'a [u8], max_span: u64) -> Result<Checked<'a>, String> {
    let plan =
        image::validate(name, bytes, &ImageLimits { max_span }).map_err(|e| e.to_string())?;
    if plan.fixed_base.is_some() {
        return Err(alloc::format!(
            "module '{name}': not relocatable (ET_EXEC); build it with the Tessera SDK"
        ));
    }
    Ok(Checked { bytes, plan })
}

/// A loaded image: its frames and its entry point (guest-physical).
#[derive(Debug)]
pub struct Loaded {
    pub hpa: u64,
    pub entry: u64,
}

/// Relocates a checked image for guest-physical `base` into fresh frames.
pub fn load(
    name: &str,
    image: &Checked<'_>,
    base: u64,
    frames: &mut FrameAllocator,
) -> Result<Loaded, String> {
    let plan = &image.plan;
    let align = plan.align.max(0x1000);
    let hpa = frames
        .alloc_aligned((plan.span / 0x1000) as usize, align)
        .ok_or_else(|| {
            alloc::format!(
                "module '{name}': out of memory for a {} KiB image",
                plan.span >> 10
            )
        })?;
    // SAFETY: the allocator handed out these frames exclusively, identity-mapped; zeroing
    // them leaves no stale data between segments.
    unsafe { core::ptr::write_bytes(hpa as *mut u8, 0, plan.span as usize) };
    let object = hermit_entry::elf::KernelObject::parse(image.bytes)
        .map_err(|e| alloc::format!("module '{name}': {e}"))?;
    // SAFETY: `mem_size <= span` bytes of the frames just zeroed, owned here;
    // MaybeUninit<u8> has the layout of u8.
    let memory = unsafe {
        core::slice::from_raw_parts_mut(hpa as *mut MaybeUninit<u8>, plan.mem_size as usize)
    };
    // Core's validation rules out everything hermit-entry asserts on (see core::image).
    let loaded = object.load_kernel(memory, base);
    if loaded.entry_point != base + plan.entry_offset {
        return Err(alloc::format!(
            "module '{name}': loader and validator disagree on the entry point"
        ));
    }
    Ok(Loaded {
        hpa,
        entry: loaded.entry_point,
    })
}
