//! The compartment heap: a `#[global_allocator]` (first-fit linked list, from
//! `linked_list_allocator`) over a static [`HEAP_SIZE`]-byte area in `.bss`.
//!
//! The area is part of the image's RW- segment, so the hypervisor maps it like any other
//! data; nothing is requested at run time. An allocation that does not fit panics
//! (`alloc`'s default error handler), which the panic handler reports.

use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicBool, Ordering};

use linked_list_allocator::LockedHeap;

/// Bytes of heap every compartment gets.
pub const HEAP_SIZE: usize = 64 * 1024;

#[global_allocator]
static ALLOCATOR: LockedHeap = LockedHeap::empty();

static mut AREA: [MaybeUninit<u8>; HEAP_SIZE] = [MaybeUninit::uninit(); HEAP_SIZE];

static INITIALISED: AtomicBool = AtomicBool::new(false);

/// Hands the static area to the allocator. Called by the entry point before `main`;
/// later calls do nothing. Until then every allocation fails (and so panics).
pub(crate) fn init() {
    if INITIALISED.swap(true, Ordering::AcqRel) {
        return;
    }
    let area = &raw mut AREA;
    // SAFETY: the swap above lets exactly one call get here, once, and nothing else in
    // the program names AREA, so this is the only reference to it that ever exists.
    let area: &'static mut [MaybeUninit<u8>] = unsafe { &mut *area };
    ALLOCATOR.lock().init_from_slice(area);
}

/// Bytes of heap currently allocated (for tests and diagnostics).
pub fn used() -> usize {
    ALLOCATOR.lock().used()
}
