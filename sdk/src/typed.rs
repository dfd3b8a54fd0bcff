//! Typed calls with data: what [`interface!`](crate::interface) expands to, at run time.
//!
//! For each `calls` edge S→T of the manifest the hypervisor maps a **call buffer** in
//! exactly views S and T, and says where in each view's channel page
//! ([`tessera_abi::gate::channels`]), which the SDK reads with plain loads (no VM exit).
//!
//! A call ([`call`]): encode the arguments into the buffer of edge me→callee
//! ([`tessera_wire`], postcard), make the gate call with RDI = the encoded length and
//! RSI = the function's signature fingerprint, then read RAX: a reply length (decode the
//! result from the same buffer) or a [`Rejection`].
//!
//! Serving one ([`serve`], in the `extern "C"` shim of each export): find the buffer of
//! edge caller→me — the caller is the peer of the top IN frame of this view's own state
//! page, which this view's gate wrote from the landing pad the CPU landed on, never from
//! the caller's word — check the fingerprint and the length, **copy** the arguments out
//! and decode them (borrowing `&str`/`&[u8]` from the copy), run the function, encode the
//! result into the buffer and return its length.
//!
//! Why nested and re-entrant calls on one edge are safe: each side reads the buffer only
//! in the instants right after control reaches it (the callee before the body runs, the
//! caller right after the gate returns), and writes it only right before handing control
//! over. In between, while the body runs and may call anywhere — back into the caller,
//! which may call this callee again over the same edge — neither holds a reference into
//! the buffer: the arguments live in the callee's own copy, the result is not written
//! yet. With one vCPU no one else runs meanwhile. docs/gates.md "Call buffers" has the
//! whole argument.

use core::cell::UnsafeCell;
use core::slice;
use core::sync::atomic::{AtomicU64, Ordering};

use alloc::vec::Vec;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tessera_abi::gate::{self, SLOT_COUNT, channels, info, state};
pub use tessera_wire::Rejection;
use tessera_wire::{Reply, reply};

use crate::gate::CallError;
use crate::import::Import;

/// A call buffer: where it is and how large (from a channel-page entry).
#[derive(Clone, Copy, Debug)]
struct Buffer {
    addr: u64,
    size: usize,
}

impl Buffer {
    fn from_entry(entry: u32) -> Option<Self> {
        let addr = channels::gpa(entry);
        let size = usize::try_from(channels::bytes(entry)).ok()?;
        (addr != 0 && size != 0).then_some(Self { addr, size })
    }

    /// The buffer's bytes.
    ///
    /// # Safety
    /// No other reference into the buffer may be alive while the slice is, and no gate
    /// call may be made (the peer may write the buffer while it runs).
    unsafe fn bytes_mut<'a>(self) -> &'a mut [u8] {
        // SAFETY: the hypervisor maps the buffer RW- in this view for `size` bytes at
        // `addr` (identity-mapped) for the whole run, per this view's own read-only
        // channel page; exclusivity is the caller's promise.
        unsafe { slice::from_raw_parts_mut(self.addr as *mut u8, self.size) }
    }
}

/// The u32 at `offset` of this view's channel page.
fn channel_entry(offset: u64) -> u32 {
    let addr = (gate::CHANNELS + offset) as *const u32;
    // SAFETY: the channel page is mapped readable at its fixed address in every view for
    // the whole run, and only the hypervisor writes it; 4-aligned in-page offsets.
    unsafe { addr.read_volatile() }
}

/// The u64 at `offset` of this view's state page.
fn state_word(offset: u64) -> u64 {
    let addr = (gate::STATE + offset) as *const u64;
    // SAFETY: the state page is mapped RW- at its fixed address in every view; only this
    // view's gate writes it, never while this code runs; 8-aligned in-page offsets.
    unsafe { addr.read_volatile() }
}

/// The buffer of edge this view → `view`.
fn outgoing(view: u32) -> Option<Buffer> {
    let view = u64::from(view);
    (view < SLOT_COUNT)
        .then(|| channel_entry(channels::OUT + 4 * view))
        .and_then(Buffer::from_entry)
}

/// The buffer of edge caller → this view, for the call this view is serving: the caller
/// is the peer of the top frame of its own state page, an IN frame its gate pushed.
fn incoming() -> Option<Buffer> {
    let depth = state_word(state::DEPTH);
    let top = depth.checked_sub(1).filter(|&i| i < state::MAX_FRAMES)?;
    let tag = state_word(state::TAGS + 8 * top);
    let peer = state::peer(tag);
    (state::kind(tag) == state::IN && peer < SLOT_COUNT)
        .then(|| channel_entry(channels::IN + 4 * peer))
        .and_then(Buffer::from_entry)
}

/// Arguments of at most this many encoded bytes are copied to the stack, larger ones to
/// the heap.
const SMALL_ARGS: usize = 128;

/// Makes a typed call: `args` (a tuple) to the export `import` names, whose signature
/// fingerprint is `fingerprint`; decodes its result as an `R`.
///
/// # Errors
/// Every [`CallError`] of the gate, and [`CallError::TooLarge`] (the arguments do not fit
/// in the call buffer), [`CallError::NoBuffer`], [`CallError::Rejected`] (the callee's shim
/// refused), [`CallError::BadReply`] (the reply's length or bytes are not an `R`).
///
/// # Panics
/// If a grant view is alive (as [`crate::gate::call`]).
#[track_caller]
#[inline]
pub fn call<A: Serialize + ?Sized, R: DeserializeOwned>(
    import: &Import,
    fingerprint: u64,
    args: &A,
) -> Result<R, CallError> {
    crate::grant::assert_no_live_views();
    call_unchecked(import, fingerprint, args)
}

fn call_unchecked<A: Serialize + ?Sized, R: DeserializeOwned>(
    import: &Import,
    fingerprint: u64,
    args: &A,
) -> Result<R, CallError> {
    let target = import.resolve()?;
    let buffer = outgoing(target.view).ok_or(CallError::NoBuffer)?;
    let len = {
        // SAFETY: no other reference into the buffer exists (every use in this module
        // is scoped like this one), and the slice dies before the gate call below.
        let bytes = unsafe { buffer.bytes_mut() };
        tessera_wire::encode_into(args, bytes).map_err(|_| CallError::TooLarge)?
    };
    let rax = crate::gate::call_unchecked(target, [len as u64, fingerprint, 0, 0, 0, 0])?;
    match reply(rax) {
        Reply::Length(len) => {
            // SAFETY: as above; the callee is done with the buffer (it returned), and
            // the slice dies before this function returns.
            let bytes = unsafe { buffer.bytes_mut() };
            let bytes = tessera_wire::read(bytes, len).map_err(|_| CallError::BadReply)?;
            tessera_wire::decode(bytes).map_err(|_| CallError::BadReply)
        }
        Reply::Rejected(r) => Err(CallError::Rejected(r)),
        Reply::Garbage => Err(CallError::BadReply),
    }
}

/// Serves one typed call in an export's shim: RDI = `len`, RSI = `fingerprint` as the
/// caller sent them; `expect` is this side's fingerprint; `run` decodes the arguments
/// from the bytes it is given (a private copy) and runs the function. Returns what goes
/// back in RAX: the result's encoded length, or a [`Rejection`] code.
pub fn serve<R: Serialize>(
    len: u64,
    fingerprint: u64,
    expect: u64,
    run: impl FnOnce(&[u8]) -> Result<R, Rejection>,
) -> u64 {
    // An export may be called before this compartment's `main` ran.
    crate::heap::ensure_init();
    activations::entered();
    match serve_inner(len, fingerprint, expect, run) {
        Ok(len) => len as u64,
        Err(rejection) => rejection.code(),
    }
}

fn serve_inner<R: Serialize>(
    len: u64,
    fingerprint: u64,
    expect: u64,
    run: impl FnOnce(&[u8]) -> Result<R, Rejection>,
) -> Result<usize, Rejection> {
    if fingerprint != expect {
        return Err(Rejection::Mismatch);
    }
    let buffer = incoming().ok_or(Rejection::NoBuffer)?;
    // The copy: on the stack when small (no allocation on the common path), else on the
    // heap.
    let mut small = [0u8; SMALL_ARGS];
    let large: Vec<u8>;
    let args: &[u8] = {
        // SAFETY: no other reference into the buffer exists, and the slice dies at the
        // end of this block, before `run` (which may make gate calls).
        let bytes = unsafe { buffer.bytes_mut() };
        let bytes = tessera_wire::read(bytes, len).map_err(|_| Rejection::Malformed)?;
        match small.get_mut(..bytes.len()) {
            Some(copy) => {
                copy.copy_from_slice(bytes);
                copy
            }
            None => {
                large = bytes.to_vec();
                &large
            }
        }
    };
    let result = run(args)?;
    // SAFETY: `run` returned, so no gate call is in progress, and no other reference
    // into the buffer exists; the slice dies before this function returns.
    let bytes = unsafe { buffer.bytes_mut() };
    tessera_wire::encode_into(&result, bytes).map_err(|_| Rejection::TooLarge)
}

/// Decodes the arguments of a typed call (in a shim's `run`).
///
/// # Errors
/// [`Rejection::Malformed`] for anything but one valid encoding of an `A`.
#[inline]
pub fn decode_args<'a, A: serde::Deserialize<'a>>(bytes: &'a [u8]) -> Result<A, Rejection> {
    tessera_wire::decode(bytes).map_err(|_| Rejection::Malformed)
}

/// Where [`serve!`](crate::serve) keeps the value that implements an interface: created
/// with `Default` on the first call, then lent out one call at a time as `&mut`. A call
/// that arrives while one is running (a re-entrant call: the body called out, and
/// someone called back in) is refused with [`Rejection::Busy`] instead of aliasing it.
///
/// The loan belongs to the activation that took it, not to the compartment: if that
/// activation can never run again — the compartment it called out to never answered and
/// the thread went elsewhere (its `main` exited from inside the callback, say), so L1
/// popped it or a new `main` emptied this view's call stack — the next call takes the
/// value over instead of being refused for ever (docs/gates.md "Call buffers", scenario
/// `redteam`, `attack-abandon`). An activation is identified by its IN frame's index
/// and tag and the number [`serve`] gave it when it entered ([`activations`]).
///
/// With several vCPUs (docs/gates.md "What a compartment's own data sees"): a `serial`
/// compartment (the default) has one value, which only one vCPU at a time can reach (the
/// gate refuses other vCPUs with `Busy` while the compartment has a frame on one). A
/// `parallel` compartment gets **one value per vCPU**, created on that vCPU's first
/// call: its exports run on every vCPU at once, and `&mut self` cannot be shared
/// between them; state they must share lives in statics behind
/// [`crate::sync::Mutex`].
#[derive(Debug)]
pub struct Server<T> {
    /// Slot 0 for a serial compartment; slot `cpu()` for a parallel one.
    slots: [Slot<T>; MAX_SLOTS],
}

/// One value of a [`Server`] and its loan.
#[derive(Debug)]
struct Slot<T> {
    /// 0: free; else 1 + the holder's call-stack depth (`state::DEPTH`) when it took it.
    held: AtomicU64,
    /// The holder's IN tag (`state::TAGS[depth - 1]`) and activation number.
    holder: [AtomicU64; 2],
    value: UnsafeCell<Option<T>>,
}

/// vCPUs the hypervisor supports (`tessera_core::smp::MAX_CPUS`): one slot each.
const MAX_SLOTS: usize = 16;

// SAFETY: each slot is reached by one thread of control at a time: a serial compartment
// runs on one vCPU at a time (its gate's ownership rule; the handover is the gate's
// locked compare-exchange and a VM exit/entry, both full barriers), a parallel one uses
// the slot of the vCPU it runs on, whose code never moves to another vCPU (no interrupts
// in L2). Within that thread `with` hands out the only `&mut T` while the loan is held by
// a live activation, refusing anyone else meanwhile.
unsafe impl<T> Sync for Server<T> {}

impl<T> Server<T> {
    /// An empty server (its values are created on first use).
    pub const fn new() -> Self {
        Self {
            slots: [const {
                Slot {
                    held: AtomicU64::new(0),
                    holder: [AtomicU64::new(0), AtomicU64::new(0)],
                    value: UnsafeCell::new(None),
                }
            }; MAX_SLOTS],
        }
    }

    /// The slot this call uses: 0, or this vCPU's in a parallel compartment.
    fn slot(&self) -> &Slot<T> {
        let parallel = crate::heap::info_word(info::CONCURRENCY) == info::PARALLEL;
        let index = if parallel { crate::cpu() } else { 0 };
        &self.slots[index.min(MAX_SLOTS - 1)]
    }
}

impl<T> Default for Server<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Default> Server<T> {
    /// Runs `f` on the value, unless a call that can still run holds it.
    ///
    /// # Errors
    /// [`Rejection::Busy`] when called re-entrantly.
    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, Rejection> {
        // Loads and stores, not locked operations: one thread of control (see `Sync`).
        let slot = self.slot();
        let depth = state_word(state::DEPTH);
        let me = activations::identity(depth);
        let held = slot.held.load(Ordering::Relaxed);
        if held != 0 {
            let at = held - 1;
            let holder = [0, 1].map(|i| slot.holder[i].load(Ordering::Relaxed));
            // The holder's frame is still where it was, at or below this call's: it
            // waits in a call (or this is its own code): refuse. Otherwise its frame was
            // popped without it returning (only L1 pops an honest view's frames, and
            // only those that can never run again; a new `main` empties the stack), so
            // its stack is this call's now and the loan is void.
            if at <= depth && activations::identity(at) == holder {
                return Err(Rejection::Busy);
            }
        }
        slot.held.store(depth + 1, Ordering::Relaxed);
        for (slot, word) in slot.holder.iter().zip(me) {
            slot.store(word, Ordering::Relaxed);
        }
        // SAFETY: no live activation holds the loan (checked above), and this one now
        // does: no other `&mut` to the value exists until it is released below, and a
        // panic in `f` stops the compartment (no unwinding). A holder that can never run
        // again holds no reference that is ever used.
        let value = unsafe { &mut *slot.value.get() };
        let result = f(value.get_or_insert_with(T::default));
        slot.held.store(0, Ordering::Relaxed);
        Ok(result)
    }
}

/// The activations of this view's exports that [`serve`] entered: the number each got,
/// by its IN frame's index, so that a [`Server`] can tell a holder still on the call
/// stack from one whose frame was popped and reused.
mod activations {
    use super::{AtomicU64, Ordering, state, state_word};

    /// Frames per vCPU.
    const FRAMES: usize = state::MAX_FRAMES as usize;

    /// The number of the activation [`serve`](super::serve) entered at each IN frame
    /// index (0: none), per vCPU: each vCPU has its own call stack (state page).
    static AT: [[AtomicU64; FRAMES]; super::MAX_SLOTS] =
        [const { [const { AtomicU64::new(0) }; FRAMES] }; super::MAX_SLOTS];
    /// The last number given, on any vCPU (numbers never repeat across vCPUs, so a
    /// holder from another vCPU's call stack never looks like one of this vCPU's).
    static LAST: AtomicU64 = AtomicU64::new(0);

    /// This vCPU's numbers.
    fn at() -> &'static [AtomicU64; FRAMES] {
        &AT[crate::cpu().min(super::MAX_SLOTS - 1)]
    }

    /// Numbers the activation that just entered (its IN frame is on top).
    pub fn entered() {
        let depth = state_word(state::DEPTH);
        if let Some(slot) = depth.checked_sub(1).and_then(|i| at().get(i as usize)) {
            let n = LAST.fetch_add(1, Ordering::Relaxed) + 1;
            slot.store(n, Ordering::Relaxed);
        }
    }

    /// What identifies the code running at call-stack depth `depth`: the tag of its IN
    /// frame and its number (both 0 for `main`, at depth 0).
    pub fn identity(depth: u64) -> [u64; 2] {
        match depth.checked_sub(1).filter(|&i| i < state::MAX_FRAMES) {
            Some(i) => [
                state_word(state::TAGS + 8 * i),
                at()[i as usize].load(Ordering::Relaxed),
            ],
            None => [0, 0],
        }
    }
}

/// Implemented by [`serve!`](crate::serve) for the type that serves interface `I` (the
/// interface module's `Marker`): where its [`Server`] is.
pub trait Served<I>: Sized + 'static {
    /// The one server of this type for interface `I`.
    fn server() -> &'static Server<Self>;
}
