//! What a compartment needs when its code may run on several vCPUs at once
//! (docs/gates.md "What a compartment's own data sees"): which vCPU it runs on
//! ([`cpu()`], [`cpus()`]), per-vCPU statics ([`cpu_local!`](crate::cpu_local),
//! [`CpuLocal`]) and a lock ([`crate::sync::Mutex`]).
//!
//! Each (view, vCPU) has its own info page and its own CPU-local page
//! (`tessera_abi::gate::LOCAL`) at the same address: the hardware picks the copy of the
//! vCPU the code runs on, so none of this makes a VM exit or needs an atomic across
//! vCPUs. A compartment's code never moves between vCPUs: a thread of control stays on
//! its vCPU.

use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::sync::atomic::{AtomicUsize, Ordering};
use tessera_abi::gate::{self, info};

use crate::heap::info_word;

/// The vCPU this code runs on (0-based): the `CPU` word of this vCPU's info page.
pub fn cpu() -> usize {
    info_word(info::CPU) as usize
}

/// The number of vCPUs the hypervisor built this compartment's views for (1 at least).
pub fn cpus() -> usize {
    (info_word(info::CPUS) as usize).max(1)
}

/// Bytes of the CPU-local page.
const PAGE: usize = 4096;

/// Where the next [`CpuLocal`] goes in the CPU-local page: the same offset on every vCPU
/// (this is the image's memory, shared by all vCPUs).
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A slot's state word, the first of its bytes on each vCPU.
const UNSET: u64 = 0;
const FREE: u64 = 1;
const BORROWED: u64 = 2;

/// A static with one value per vCPU, in the CPU-local page; declared with
/// [`cpu_local!`](crate::cpu_local). Each vCPU's value is created from the initializer on
/// that vCPU's first use, and borrowed only inside [`CpuLocal::with`] on the current
/// vCPU: no other vCPU can reach it (no other vCPU's root maps this page), and a second
/// borrow on the same vCPU while one is live (a nested `with`, or a call that comes back
/// into this compartment and uses it) panics instead of aliasing.
///
/// All the `CpuLocal`s of a compartment share one page: 4 KiB, less 8 bytes per static.
pub struct CpuLocal<T> {
    /// Offset + 1 of its slot in the CPU-local page; 0 until first used.
    offset: AtomicUsize,
    init: fn() -> T,
    _value: PhantomData<UnsafeCell<T>>,
}

// SAFETY: a vCPU's value is only reached through `with` on that vCPU, one borrow at a
// time (the state word in the slot, which only this vCPU's code can write). `T: Send`
// because `with` hands out `&mut T`, through which the value can be moved out to code
// that another vCPU runs later.
unsafe impl<T: Send> Sync for CpuLocal<T> {}

impl<T> CpuLocal<T> {
    /// A per-vCPU static created on each vCPU by `init` (use [`cpu_local!`](crate::cpu_local)).
    pub const fn new(init: fn() -> T) -> Self {
        CpuLocal {
            offset: AtomicUsize::new(0),
            init,
            _value: PhantomData,
        }
    }

    /// Calls `f` with this vCPU's value. Panics if it is already borrowed on this vCPU, or
    /// if the CPU-local page is full.
    pub fn with<R>(&'static self, f: impl FnOnce(&mut T) -> R) -> R {
        let slot = gate::LOCAL as usize + self.offset();
        let state = slot as *mut u64;
        let value = (slot + Self::value_offset()) as *mut T;
        // SAFETY: (and below) the slot lies inside the CPU-local page (`offset`
        // checked it), mapped RW- at this address for the whole run, this vCPU's own
        // frame; its state word is 8-aligned and `value` aligned for `T`. Only code on
        // this vCPU reads or writes it, one instruction stream: the state word orders the
        // borrows, and `value` holds a `T` whenever the word is not UNSET.
        let word = unsafe { state.read_volatile() };
        match word {
            BORROWED => panic!("a cpu_local! static borrowed twice on one vCPU"),
            // SAFETY: as above; nothing was there (the page is zero at load).
            UNSET => unsafe { value.write((self.init)()) },
            _ => {}
        }
        // SAFETY: as above.
        unsafe { state.write_volatile(BORROWED) };
        let guard = Release(state);
        // SAFETY: as above; the only borrow of this vCPU's value until `guard` drops.
        let result = f(unsafe { &mut *value });
        drop(guard);
        result
    }

    /// Bytes from the slot's start to its value: the state word, rounded up to `T`'s
    /// alignment.
    const fn value_offset() -> usize {
        let align = core::mem::align_of::<T>();
        if align > 8 { align } else { 8 }
    }

    /// Its slot's offset in the page, given out on first use (the same on every vCPU).
    fn offset(&self) -> usize {
        let known = self.offset.load(Ordering::Acquire);
        if known != 0 {
            return known - 1;
        }
        let align = Self::value_offset();
        let size = align + core::mem::size_of::<T>();
        let mut start = 0;
        let _ = NEXT.fetch_update(Ordering::AcqRel, Ordering::Acquire, |next| {
            start = next.next_multiple_of(align);
            Some(start + size)
        });
        assert!(
            start + size <= PAGE,
            "cpu_local! statics: the CPU-local page is full"
        );
        match self
            .offset
            .compare_exchange(0, start + 1, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => start,
            // Another vCPU gave it one first: use that (this slot's bytes stay unused).
            Err(theirs) => theirs - 1,
        }
    }
}

impl<T> core::fmt::Debug for CpuLocal<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CpuLocal")
            .field(
                "offset",
                &self.offset.load(Ordering::Relaxed).checked_sub(1),
            )
            .finish_non_exhaustive()
    }
}

/// Marks the slot free again when the borrow ends, also if `f` panics.
struct Release(*mut u64);

impl Drop for Release {
    fn drop(&mut self) {
        // SAFETY: the state word `with` borrowed, still mapped and this vCPU's.
        unsafe { self.0.write_volatile(FREE) }
    }
}

/// Declares statics with one value per vCPU, in the CPU-local page:
///
/// ```ignore
/// tessera_sdk::cpu_local! {
///     static CALLS: u64 = 0;
/// }
/// CALLS.with(|n| *n += 1);
/// ```
///
/// The initializer runs on each vCPU at its first use there. See [`CpuLocal`].
#[macro_export]
macro_rules! cpu_local {
    ($($(#[$meta:meta])* $vis:vis static $name:ident: $ty:ty = $init:expr;)+) => {
        $(
            $(#[$meta])*
            $vis static $name: $crate::cpu::CpuLocal<$ty> = $crate::cpu::CpuLocal::new(|| $init);
        )+
    };
}
