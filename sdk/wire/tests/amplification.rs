//! What a decode may allocate, measured (docs/gates.md "Call buffers", what the red team
//! left open): strict and bounds-checked as it is, decoding is not bounded by the bytes
//! it reads. A `Vec<String>` of empty strings costs 1 encoded byte and 24 bytes of heap
//! per element, so a default 4 KiB call buffer decodes into more than the default
//! 64 KiB heap, and the caller is stopped for `out-of-memory` by a reply its callee
//! wrote. This test keeps the figure honest: if a bound is ever added, it fails and the
//! documentation must change with it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use tessera_wire::decode;

/// Counts the bytes live on the heap and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
        PEAK.fetch_max(live, Ordering::SeqCst);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The default `call_buffer=` and `heap=` (docs/manifest.md).
const BUFFER: usize = 4096;
const HEAP: usize = 65536;

#[test]
fn a_default_call_buffer_decodes_into_more_than_a_default_heap() {
    // 4094 elements: a two-byte varint count, then one zero length each.
    let n = BUFFER - 2;
    let mut bytes = vec![0u8; BUFFER];
    bytes[0] = 0x80 | (n & 0x7f) as u8;
    bytes[1] = (n >> 7) as u8;
    let before = LIVE.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    let v: Vec<String> = decode(&bytes).expect("a valid encoding");
    let peak = PEAK.load(Ordering::SeqCst) - before;
    assert_eq!(v.len(), n);
    assert!(
        peak > HEAP,
        "decoding {BUFFER} bytes took {peak} bytes of heap, no more than {HEAP}: a bound was \
         added, update docs/gates.md"
    );
    eprintln!("{BUFFER} encoded bytes decoded into {peak} bytes of heap");
}
