//! Physical memory L1 owns, as the engine's `Memory` port: the frame allocator over the
//! RAM nothing else uses, and the one place where the engine's host-physical addresses
//! become pointers. Every address is checked against the ranges the allocator was built
//! over (all below 4 GiB, identity-mapped by `boot.rs`) before it is dereferenced, so no
//! address the engine computes can reach the kernel image, the modules, the multiboot
//! structures or anything else: an address outside is an L1 bug, and panics.

use alloc::vec::Vec;
use core::cell::Cell;
use core::mem::MaybeUninit;
use core::ops::Range;
use core::sync::atomic::Ordering;
use tessera_core::frames::FrameAllocator;
use tessera_core::paging::{PagingError, TableMemory};
use tessera_engine::port::{Frames, Memory, PAGE};

/// The frames L1 hands out, and the ranges they come from.
#[derive(Debug)]
pub struct PhysMemory {
    frames: FrameAllocator,
    owned: Vec<Range<u64>>,
    /// The range of `owned` the last check found an address in, tried first: almost every
    /// address the engine uses (tables, gate, info and state pages) is in the same one,
    /// and the run loop checks a few per exit.
    last: Cell<usize>,
}

impl PhysMemory {
    /// Memory over what `frames` has free now (identity-mapped, below 4 GiB).
    pub fn new(frames: FrameAllocator) -> Self {
        let owned = frames.free_ranges().to_vec();
        PhysMemory {
            frames,
            owned,
            last: Cell::new(0),
        }
    }

    /// Whether `[pa, pa + len)` lies in memory L1 manages.
    #[inline]
    fn manages(&self, pa: u64, len: u64) -> bool {
        let Some(end) = pa.checked_add(len) else {
            return false;
        };
        let within = |r: &Range<u64>| r.start <= pa && end <= r.end;
        if self.owned.get(self.last.get()).is_some_and(within) {
            return true;
        }
        match self.owned.iter().position(within) {
            Some(i) => {
                self.last.set(i);
                true
            }
            None => false,
        }
    }

    /// Panics unless `[pa, pa + len)` lies in memory L1 manages.
    #[inline]
    fn check(&self, pa: u64, len: u64) {
        assert!(
            self.manages(pa, len),
            "L1 bug: {pa:#x}+{len:#x} is not memory L1 manages"
        );
    }

    /// A fresh zeroed page for the CPU to read by address ([`OwnedPage`]).
    pub fn owned_page(&mut self) -> Option<OwnedPage> {
        let frames = self.frame()?;
        self.check(frames.start(), PAGE);
        Some(OwnedPage { frames })
    }

    /// The frames as uninitialised bytes, for the image loader to write (it writes
    /// every byte it hands back as initialised).
    pub fn uninit_mut(&mut self, frames: &Frames) -> &mut [MaybeUninit<u8>] {
        self.check(frames.start(), frames.len());
        // SAFETY: the range lies in memory this allocator manages (checked), identity-
        // mapped; `frames` are owned by the caller (not `Clone`), so no other reference to
        // them exists, and the borrow of `self` keeps the allocator from handing them out.
        unsafe {
            core::slice::from_raw_parts_mut(
                frames.start() as *mut MaybeUninit<u8>,
                frames.len() as usize,
            )
        }
    }
}

/// One page of L1's memory the CPU reads by address and L1 keeps writing while the
/// guest runs between exits (VMX's EPTP list, which the conformance fixture replaces for
/// every case): taken out of the memory port, so nothing else can reach it, and written
/// one volatile u64 at a time.
#[derive(Debug)]
pub struct OwnedPage {
    frames: Frames,
}

impl OwnedPage {
    /// Host-physical address of the page (what the CPU is given).
    pub fn start(&self) -> u64 {
        self.frames.start()
    }

    /// Writes u64 number `index` (below 512) of the page.
    pub fn write_u64(&mut self, index: usize, value: u64) {
        self.write(8 * index, value);
    }

    /// The address of a naturally aligned `W` at byte `offset`, inside the page.
    fn at<W: Word>(&self, offset: usize) -> u64 {
        let size = core::mem::size_of::<W>();
        assert!(
            offset % size == 0 && offset + size <= PAGE as usize,
            "L1 bug: a {size}-byte word at {offset:#x} of a page"
        );
        self.frames.start() + offset as u64
    }

    /// Reads the `W` at byte `offset` (naturally aligned, inside the page), with one
    /// volatile access: the CPU writes the page too (a VMCB at #VMEXIT).
    pub fn read<W: Word>(&self, offset: usize) -> W {
        let pa = self.at::<W>(offset);
        // SAFETY: the page is one frame `PhysMemory::owned_page` allocated from memory L1
        // manages (identity-mapped, checked there) and gave only to this handle, which is
        // not `Clone`; `at` keeps the naturally aligned word inside it, and every `Word`
        // is an integer, valid for any bits.
        unsafe { (pa as *const W).read_volatile() }
    }

    /// Writes the `W` at byte `offset` (naturally aligned, inside the page), with one
    /// volatile access: the CPU reads the page by address.
    pub fn write<W: Word>(&mut self, offset: usize, value: W) {
        let pa = self.at::<W>(offset);
        // SAFETY: as in `read`; `&mut self` makes this the only access from L1.
        unsafe { (pa as *mut W).write_volatile(value) }
    }
}

/// The integers an [`OwnedPage`] is read and written in.
pub trait Word: Copy + private::Sealed {}

impl Word for u8 {}
impl Word for u16 {}
impl Word for u32 {}
impl Word for u64 {}

mod private {
    pub trait Sealed {}
    impl Sealed for u8 {}
    impl Sealed for u16 {}
    impl Sealed for u32 {}
    impl Sealed for u64 {}
}

impl TableMemory for PhysMemory {
    fn alloc_table(&mut self) -> Result<u64, PagingError> {
        self.frame()
            .map(|f| f.start())
            .ok_or(PagingError::OutOfTables)
    }

    fn read_entry(&self, table: u64, index: usize) -> u64 {
        self.read_u64(table + 8 * (index as u64 % 512))
    }

    fn write_entry(&mut self, table: u64, index: usize, value: u64) {
        self.write_u64(table + 8 * (index as u64 % 512), value);
    }

    fn free_table(&mut self, table: u64) {
        self.free(Frames::owned_by_allocator(table, 1));
    }
}

impl Memory for PhysMemory {
    fn alloc(&mut self, pages: usize, align: u64) -> Option<Frames> {
        let start = self.frames.alloc_aligned(pages, align)?;
        let frames = Frames::owned_by_allocator(start, pages);
        self.bytes_mut(&frames).fill(0);
        Some(frames)
    }

    fn free(&mut self, frames: Frames) {
        let freed = self.frames.free(frames.start(), frames.pages());
        assert!(freed, "L1 bug: {frames:?} freed twice");
    }

    fn free_bytes(&self) -> u64 {
        self.frames.free_bytes()
    }

    fn bytes(&self, frames: &Frames) -> &[u8] {
        self.check(frames.start(), frames.len());
        // SAFETY: the range lies in memory L1 manages (checked), identity-mapped and
        // initialised (frames are zeroed when allocated); no guest runs while L1 reads
        // (one vCPU, the guest is stopped at an exit).
        unsafe { core::slice::from_raw_parts(frames.start() as *const u8, frames.len() as usize) }
    }

    fn bytes_mut(&mut self, frames: &Frames) -> &mut [u8] {
        self.check(frames.start(), frames.len());
        // SAFETY: as in `bytes`; the frames are the caller's (not `Clone`) and `self` is
        // borrowed mutably, so this is the only reference to them.
        unsafe { core::slice::from_raw_parts_mut(frames.start() as *mut u8, frames.len() as usize) }
    }

    fn page(&self, pa: u64) -> Option<&[u8; 4096]> {
        let inside = pa % PAGE == 0 && self.manages(pa, PAGE);
        // SAFETY: a whole page of memory L1 manages (checked), identity-mapped and
        // initialised; the guest is stopped while L1 reads it.
        inside.then(|| unsafe { &*(pa as *const [u8; 4096]) })
    }

    fn read_u64(&self, pa: u64) -> u64 {
        self.check(pa, 8);
        assert_eq!(pa % 8, 0, "L1 bug: unaligned u64 at {pa:#x}");
        // SAFETY: 8 aligned bytes of memory L1 manages (checked); one volatile read, as
        // the guest may write this word (a state page) between L1's reads.
        unsafe { (pa as *const u64).read_volatile() }
    }

    fn write_u64(&mut self, pa: u64, value: u64) {
        self.check(pa, 8);
        assert_eq!(pa % 8, 0, "L1 bug: unaligned u64 at {pa:#x}");
        // SAFETY: as in `read_u64`; one volatile write.
        unsafe { (pa as *mut u64).write_volatile(value) }
    }

    fn compare_exchange_u64(&mut self, pa: u64, current: u64, new: u64) -> Result<u64, u64> {
        self.check(pa, 8);
        assert_eq!(pa % 8, 0, "L1 bug: unaligned u64 at {pa:#x}");
        // SAFETY: 8 aligned bytes of memory L1 manages (checked), identity-mapped; the
        // guest (a gate on another vCPU) reaches this word only with atomic `lock
        // cmpxchg` or aligned 8-byte moves, which an AtomicU64 access agrees with.
        let word = unsafe { core::sync::atomic::AtomicU64::from_ptr(pa as *mut u64) };
        word.compare_exchange(current, new, Ordering::SeqCst, Ordering::SeqCst)
    }
}
