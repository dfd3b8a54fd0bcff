//! The kernel heap: linked_list_allocator over a fixed region inside the kernel image's
//! .bss, so it exists before the multiboot structures (which need allocation to parse)
//! are read, and the frame allocator excludes it automatically with the image.

use linked_list_allocator::LockedHeap;

/// Heap size. Grows with later issues (EPT tables come from the frame allocator, not here).
pub const HEAP_SIZE: usize = 4 << 20;

#[repr(C, align(4096))]
struct HeapArea([u8; HEAP_SIZE]);

static mut HEAP_AREA: HeapArea = HeapArea([0; HEAP_SIZE]);

#[global_allocator]
static ALLOCATOR: LockedHeap = LockedHeap::empty();

/// Hands the heap area to the allocator. Call once, before the first allocation.
pub fn init() {
    let mut heap = ALLOCATOR.lock();
    if heap.size() != 0 {
        return;
    }
    let start = (&raw mut HEAP_AREA).cast::<u8>();
    // SAFETY: HEAP_AREA is used by nothing but this allocator (it is private to this
    // module and only its address is taken, once, guarded by the size check above), is
    // HEAP_SIZE bytes long and lives for the whole run.
    unsafe { heap.init(start, HEAP_SIZE) };
}
