//! The compartment heap: a `#[global_allocator]` (first-fit linked list, from
//! `linked_list_allocator`) over the heap the hypervisor maps for the compartment.
//!
//! The heap is not part of the image: the manifest's `heap=` (default
//! [`DEFAULT_SIZE`], 64 KiB) sizes it, the hypervisor maps that many zeroed bytes RW- in
//! the compartment's view only (between unmapped guard pages), and the info page says
//! where ([`tessera_abi::gate::info::HEAP_BASE`] and `HEAP_SIZE`). The entry point hands
//! it to the allocator before `main`.
//!
//! **Out of memory** is not a panic: an allocation the heap cannot satisfy makes the
//! OUT_OF_MEMORY hypercall with the requested size and alignment, and the hypervisor
//! stops the compartment with `@@FAULT compartment=NAME kind=out-of-memory size=N
//! align=N heap=N rip=..` (docs/transcript.md). The allocator makes the call itself,
//! instead of returning null and leaving it to `alloc`'s error handler: in `no_std` that
//! handler panics with a formatted message (`alloc_error_handler`, which would let the
//! SDK replace it, is unstable), so the panic handler would have to recognise the message
//! text to tell an out-of-memory from any other panic, and would format it with the heap
//! already exhausted. Here the exact size and alignment are at hand and nothing else
//! runs. The cost: a fallible API (`Vec::try_reserve`, `Box::try_new`) never sees the
//! failure either, so the heap must be sized for the worst case (as `heap=` says).

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use linked_list_allocator::LockedHeap;
use tessera_abi::gate::{self, info};

use crate::hypercall::raw;

/// Bytes of heap a compartment gets when its manifest line has no `heap=`.
pub const DEFAULT_SIZE: usize = tessera_abi::entry::HEAP_SIZE as usize;

/// The allocator: `linked_list_allocator`'s heap, and the stop when it runs out.
struct Heap(LockedHeap);

// SAFETY: every method forwards to `LockedHeap`'s `GlobalAlloc`, which upholds the
// contract; the only addition is a hypercall before a null would be returned, which does
// not touch the heap.
unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // An export may allocate before `main` set the heap up (its compartment's `main`
        // has not run yet, or a restart reset its memory after `main` returned): set it
        // up on first use. One load on the allocation path, nothing on the gate's.
        if !INITIALISED.load(Ordering::Relaxed) {
            init();
        }
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, passed on as is.
        let ptr = unsafe { self.0.alloc(layout) };
        if ptr.is_null() {
            out_of_memory(layout);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract, passed on as is.
        unsafe { self.0.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Heap = Heap(LockedHeap::empty());

static INITIALISED: AtomicBool = AtomicBool::new(false);

/// Bytes handed to the allocator (0 until [`init`], or with no heap).
static SIZE: AtomicUsize = AtomicUsize::new(0);

/// Reports the failed request to the hypervisor, which stops the compartment. Returns
/// only if the hypervisor does not know OUT_OF_MEMORY (one older than the SDK): then the
/// null goes back to `alloc`, whose error handler panics.
#[cold]
fn out_of_memory(layout: Layout) {
    let (size, align) = (layout.size() as u64, layout.align() as u64);
    // SAFETY: OUT_OF_MEMORY takes no pointer; it reads nothing of the caller's memory.
    unsafe { raw::out_of_memory(size, align) };
}

/// One word of the info page, which the hypervisor maps read-only at a fixed address in
/// every view (`tessera_abi::gate::INFO`), identity-mapped by the guest page tables.
pub(crate) fn info_word(offset: u64) -> u64 {
    let addr = (gate::INFO + offset) as *const u64;
    // SAFETY: the info page is mapped readable for the whole run of every compartment
    // (DESIGN §5), 8-aligned words at these offsets; only the hypervisor writes it.
    unsafe { addr.read_volatile() }
}

/// [`init`], unless it ran already: one plain load on the path of every typed export
/// (an export may be called before `main`).
#[inline]
pub(crate) fn ensure_init() {
    if !INITIALISED.load(Ordering::Relaxed) {
        init();
    }
}

/// Hands the heap the info page names to the allocator. Called by the entry point before
/// `main`, and by the allocator at its first allocation if nothing did before (an export
/// of a compartment whose `main` has not run, or that was restarted after `main`
/// returned); later calls do nothing. Until then, or if the info page names no heap (a
/// hypervisor older than `heap=`), every allocation fails.
pub(crate) fn init() {
    if INITIALISED.swap(true, Ordering::AcqRel) {
        return;
    }
    let base = info_word(info::HEAP_BASE);
    let Ok(size) = usize::try_from(info_word(info::HEAP_SIZE)) else {
        return;
    };
    if base == 0 || size == 0 {
        return;
    }
    // SAFETY: the hypervisor maps `size` bytes from `base` read-write in this view only,
    // for the compartment's whole life, and nothing else in it names them (the image does
    // not contain them); the swap above lets exactly one call get here, once.
    unsafe { ALLOCATOR.0.lock().init(base as *mut u8, size) };
    SIZE.store(size, Ordering::Release);
}

/// Bytes of heap currently allocated (for tests and diagnostics).
pub fn used() -> usize {
    ALLOCATOR.0.lock().used()
}

/// Bytes of heap the compartment has (its manifest's `heap=`), 0 before `main`.
pub fn size() -> usize {
    SIZE.load(Ordering::Acquire)
}
