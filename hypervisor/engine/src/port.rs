//! The ports: the only ways the engine reaches the machine (docs/architecture.md). The
//! kernel implements them over the real CPU and memory; [`crate::fake`] over plain data.
//! The fourth port, [`crate::backend::Backend`], has its own module.

use alloc::string::String;
use core::fmt;
use tessera_core::image::ImagePlan;
use tessera_core::paging::TableMemory;

/// Size of a frame.
pub const PAGE: u64 = 0x1000;

/// Frames L1 owns: `pages` contiguous 4 KiB frames from host-physical `start`. Only a
/// [`Memory`] makes them, and they are not `Clone`: whoever holds them owns them, and
/// [`Memory::free`] takes them back exactly once.
#[derive(Debug, PartialEq, Eq)]
pub struct Frames {
    start: u64,
    pages: usize,
}

impl Frames {
    /// Frames a [`Memory`] implementation hands out from its own allocator. Nothing else
    /// may call this: the engine relies on every `Frames` being memory L1 owns.
    pub const fn owned_by_allocator(start: u64, pages: usize) -> Self {
        Frames { start, pages }
    }

    /// Host-physical address of the first frame.
    pub const fn start(&self) -> u64 {
        self.start
    }

    /// Number of frames.
    pub const fn pages(&self) -> usize {
        self.pages
    }

    /// Bytes.
    pub const fn len(&self) -> u64 {
        self.pages as u64 * PAGE
    }

    /// Whether there are no frames (never, for frames an allocator returned).
    pub const fn is_empty(&self) -> bool {
        self.pages == 0
    }
}

/// L1's own memory, by host-physical address: the frames it allocates for compartment
/// memory, second-level tables, gate, info and state pages, grants. The kernel's
/// implementation is its one file of integer-to-pointer conversions; it only ever turns
/// addresses inside memory it manages into references, so no address the engine
/// computes can reach anything else (an address outside is an L1 bug and panics).
///
/// Memory a guest may write (the gate's state pages) is written with
/// [`Memory::write_u64`] (one volatile access) and read with [`Memory::read_u64`] or,
/// where L1 reads several words of it at one exit, through [`Memory::page`]: one vCPU, so
/// no guest runs while L1 does (the emulated switch's receiving-gate decision).
pub trait Memory: TableMemory {
    /// `pages` zeroed frames aligned to `align` bytes (a power of two, at least 4096), or
    /// `None` when no such run is free.
    fn alloc(&mut self, pages: usize, align: u64) -> Option<Frames>;
    /// Gives frames back.
    fn free(&mut self, frames: Frames);
    /// Bytes still free.
    fn free_bytes(&self) -> u64;
    /// The bytes of owned frames.
    fn bytes(&self, frames: &Frames) -> &[u8];
    /// The bytes of owned frames, to fill them.
    fn bytes_mut(&mut self, frames: &Frames) -> &mut [u8];
    /// The 4 KiB page at `pa` (page-aligned) if it is memory L1 manages: how the engine
    /// reads what a view maps (instruction bytes, hypercall buffers, the final scan).
    fn page(&self, pa: u64) -> Option<&[u8; 4096]>;
    /// The u64 at `pa` (8-byte aligned, in memory L1 manages), with one access.
    fn read_u64(&self, pa: u64) -> u64;
    /// Writes the u64 at `pa` (8-byte aligned, in memory L1 manages) with one access.
    fn write_u64(&mut self, pa: u64, value: u64);
    /// Atomically (`lock cmpxchg`, as a gate on another vCPU does to the same word):
    /// if the u64 at `pa` (8-byte aligned, in memory L1 manages) is `current`, writes
    /// `new` and returns `Ok(current)`; else returns `Err(the value found)`.
    fn compare_exchange_u64(&mut self, pa: u64, current: u64, new: u64) -> Result<u64, u64>;

    /// One fresh zeroed frame.
    fn frame(&mut self) -> Option<Frames> {
        self.alloc(1, PAGE)
    }
}

/// Lays a validated compartment image out in memory: the hermit-entry loader in the
/// kernel, core's model of it (`tessera_core::image::load`) in host tests.
pub trait ImageLoader<M: Memory> {
    /// Loads `image` (validated as `plan`) into `frames` (zeroed, at least `plan.span`
    /// bytes) for guest-physical `base`; returns the entry point (guest-physical).
    ///
    /// # Errors
    /// The loader refused what the validator accepted: an L1 bug, which stops the boot.
    fn load(
        &mut self,
        mem: &mut M,
        frames: &Frames,
        image: &[u8],
        plan: &ImagePlan,
        base: u64,
    ) -> Result<u64, String>;
}

/// Where machine-readable lines and compartment output go (COM1).
pub trait Transcript: Send {
    /// One line (without its newline).
    fn line(&mut self, args: fmt::Arguments<'_>);
}
