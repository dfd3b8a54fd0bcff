//! Loading compartment images from multiboot modules.
//!
//! Each image is checked by `tessera_core::image` before hermit-entry's loader (which
//! panics on malformed ELF) touches it, then relocated into fresh frames for the
//! guest-physical base the layout planner gave it, scanned for rogue `VMFUNC` bytes where
//! it sits (`image::scan_loaded`, DESIGN §6 property 2), and given its stack. Everything
//! that can go wrong with one image (no frames left for it, `0F 01 D4` in its code)
//! rejects that image alone: what it took is given back and the boot goes on.

use alloc::string::{String, ToString};
use core::mem::MaybeUninit;
use tessera_core::frames::FrameAllocator;
use tessera_core::image::{self, ImageError, ImageLimits, ImagePlan, ImageProblem, MemoryPart};
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
pub fn check<'a>(name: &str, bytes: &'a [u8], max_span: u64) -> Result<Checked<'a>, ImageError> {
    let plan = image::validate(name, bytes, &ImageLimits { max_span })?;
    if plan.fixed_base.is_some() {
        return Err(ImageError {
            module: name.into(),
            problem: ImageProblem::NotRelocatable,
        });
    }
    Ok(Checked { bytes, plan })
}

/// A loaded image: its frames, its entry point (guest-physical) and its stack's frames.
#[derive(Debug)]
pub struct Loaded {
    pub hpa: u64,
    pub entry: u64,
    pub stack_hpa: u64,
}

/// Why an image was not loaded.
#[derive(Debug)]
pub enum LoadError {
    /// The image is refused; nothing it took is still allocated.
    Reject(ImageProblem),
    /// A bug in L1 (the loader and the validator disagree): the boot stops.
    Bug(String),
}

/// Frames for `bytes` bytes (a multiple of 4 KiB) aligned to `align`, zeroed.
fn zeroed(
    frames: &mut FrameAllocator,
    bytes: u64,
    align: u64,
    part: MemoryPart,
) -> Result<u64, LoadError> {
    let hpa = usize::try_from(bytes / 0x1000)
        .ok()
        .and_then(|count| frames.alloc_aligned(count, align))
        .ok_or(LoadError::Reject(ImageProblem::OutOfMemory {
            part,
            needed: bytes,
        }))?;
    // SAFETY: the allocator handed out these frames exclusively (identity-mapped, below
    // 4 GiB); zeroing them leaves no stale data between segments.
    unsafe { core::ptr::write_bytes(hpa as *mut u8, 0, bytes as usize) };
    Ok(hpa)
}

/// Relocates a checked image for guest-physical `base` into fresh frames, scans its
/// executable memory as loaded for `0F 01 D4` (unless it is the conformance fixture,
/// which executes `VMFUNC` by design), and allocates its stack of `stack_len` bytes.
pub fn load(
    name: &str,
    image: &Checked<'_>,
    base: u64,
    stack_len: u64,
    frames: &mut FrameAllocator,
    fixture: bool,
) -> Result<Loaded, LoadError> {
    let plan = &image.plan;
    let hpa = zeroed(frames, plan.span, plan.align.max(0x1000), MemoryPart::Image)?;
    let give_back = |frames: &mut FrameAllocator, error: LoadError| {
        frames.free(hpa, (plan.span / 0x1000) as usize);
        error
    };
    let object = match hermit_entry::elf::KernelObject::parse(image.bytes) {
        Ok(object) => object,
        Err(e) => {
            return Err(give_back(
                frames,
                LoadError::Bug(alloc::format!("module '{name}': {e}")),
            ));
        }
    };
    // SAFETY: `mem_size <= span` bytes of the frames just zeroed, owned here;
    // MaybeUninit<u8> has the layout of u8.
    let memory = unsafe {
        core::slice::from_raw_parts_mut(hpa as *mut MaybeUninit<u8>, plan.mem_size as usize)
    };
    // Core's validation rules out everything hermit-entry asserts on (see core::image).
    let loaded = object.load_kernel(memory, base);
    if loaded.entry_point != base + plan.entry_offset {
        let bug =
            alloc::format!("module '{name}': loader and validator disagree on the entry point");
        return Err(give_back(frames, LoadError::Bug(bug)));
    }
    if !fixture {
        // SAFETY: the `span` bytes at `hpa` are this image's frames, initialised (zeroed,
        // then written by the loader) and not written again while this borrow lives.
        let bytes = unsafe { core::slice::from_raw_parts(hpa as *const u8, plan.span as usize) };
        if let Err(problem) = image::scan_loaded(plan, bytes) {
            return Err(give_back(frames, LoadError::Reject(problem)));
        }
    }
    let stack_hpa = match zeroed(frames, stack_len, 0x1000, MemoryPart::Stack) {
        Ok(stack) => stack,
        Err(error) => return Err(give_back(frames, error)),
    };
    Ok(Loaded {
        hpa,
        entry: loaded.entry_point,
        stack_hpa,
    })
}
