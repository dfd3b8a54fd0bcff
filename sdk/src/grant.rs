//! Shared buffers: grants declared in the manifest, mapped RW- or R-- (never X) at the
//! same guest address in every view granted them (the GRANT hypercall).
//!
//! Another compartment can write a grant only while it runs, and it runs only during a
//! gate call this compartment makes (one vCPU, no interrupts). Two rules keep Rust's
//! aliasing guarantees across that:
//! - at most one [`Grant`] handle per grant exists at a time, so `bytes_mut` borrows
//!   exclusively;
//! - a gate call ([`crate::gate::call`]) panics while any view from [`Grant::bytes`] or
//!   [`Grant::bytes_mut`] is alive, so no Rust reference spans a call that may change
//!   the memory behind it.

use core::ops::{Deref, DerefMut};
use core::slice;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tessera_abi::error;

use tessera_abi::gate;

use crate::hypercall::{Error, raw};

/// Grants a compartment can hold at once.
pub const MAX_HELD: usize = 16;

/// Base addresses of the grants a [`Grant`] handle exists for (0 = free slot).
static HELD: [AtomicU64; MAX_HELD] = [const { AtomicU64::new(0) }; MAX_HELD];

/// What one live view adds to [`live_views`]: the count is kept shifted left by 32, so
/// that a gate call ORs the word into the target view (`or r11, [SDK_LIVE_VIEWS]`, one
/// instruction): with any view alive the target is at least 2^32, which the gate's own
/// `view < VIEWS` bound refuses (NO_SUCH_EXPORT) before any switch, and the call's cold
/// path tells that refusal apart and panics (`gate::call`).
pub(crate) const LIVE_VIEW: usize = 1 << 32;

/// Number of live [`GrantRef`] / [`GrantMut`] views, times [`LIVE_VIEW`]: the SDK's own
/// word of this view's gate state page ([`gate::state::SDK_LIVE_VIEWS`]). At a fixed
/// address the gate call reads it with one instruction; a static of this crate would be
/// reached through the GOT from the compartment's code (two loads).
#[inline(always)]
fn live_views() -> &'static AtomicUsize {
    // SAFETY: the state page is mapped read-write at `gate::STATE` in this view for as
    // long as the compartment runs (docs/gates.md), and starts zeroed; this word is the
    // SDK's alone (neither the gate nor L1 reads or writes it), 8-aligned, and every
    // access to it goes through this atomic (same layout as a usize).
    unsafe { &*((gate::STATE + gate::state::SDK_LIVE_VIEWS) as *const AtomicUsize) }
}

/// Panics if a grant view is alive (see the module documentation). The panic names the
/// user's gate call (`#[track_caller]` up from there); inlined, so the check costs what
/// it did and the location is a constant the cold path loads.
#[track_caller]
#[inline(always)]
pub(crate) fn assert_no_live_views() {
    if live_views().load(Ordering::Relaxed) != 0 {
        live_view_at_call();
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn live_view_at_call() -> ! {
    panic!("gate call while a grant view (Grant::bytes / bytes_mut) is alive: drop it first")
}

/// A shared buffer this compartment was granted.
#[derive(Debug)]
pub struct Grant {
    addr: u64,
    len: usize,
    writable: bool,
}

/// Looks up grant `name` (GRANT) and takes the handle for it.
///
/// Errors: `NO_SUCH_GRANT` if this view is not granted it; `BAD_STATE` if a handle for
/// this grant is already alive in this compartment (or [`MAX_HELD`] handles are), or the
/// hypervisor's answer is unusable (address 0, or a range that wraps).
pub fn grant(name: &str) -> Result<Grant, Error> {
    // SAFETY: `name` is a live shared slice, readable for its whole length during the
    // call; GRANT only reads it.
    let (ret, size, flags) = unsafe { raw::grant(name.as_ptr() as u64, name.len() as u64) };
    let addr = Error::check(ret)?;
    let bad_state = Error(error::BAD_STATE);
    let len = usize::try_from(size).map_err(|_| bad_state)?;
    if addr == 0 || len > isize::MAX as usize || addr.checked_add(size).is_none() {
        return Err(bad_state);
    }
    if HELD.iter().any(|h| h.load(Ordering::Relaxed) == addr) {
        return Err(bad_state);
    }
    let slot = HELD.iter().find(|h| {
        h.compare_exchange(0, addr, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    });
    if slot.is_none() {
        return Err(bad_state);
    }
    Ok(Grant {
        addr,
        len,
        writable: flags & 1 != 0,
    })
}

impl Grant {
    /// Guest address of the buffer (the same in every view granted it).
    pub fn addr(&self) -> u64 {
        self.addr
    }

    /// Size in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Never true: grants are at least a page.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether this compartment may write it.
    pub fn is_writable(&self) -> bool {
        self.writable
    }

    /// The buffer, read-only. Drop the view before the next gate call.
    pub fn bytes(&self) -> GrantRef<'_> {
        live_views().fetch_add(LIVE_VIEW, Ordering::Relaxed);
        // SAFETY: the hypervisor maps `len` bytes at `addr` readable in this view for as
        // long as the compartment runs (checked non-null, not wrapping, <= isize::MAX by
        // `grant`); every byte value is a valid u8. Nothing writes the buffer while this
        // borrow of `self` lives: this is the only handle for it (HELD), `bytes_mut`
        // needs `&mut self`, and peers run only during gate calls, which refuse to
        // start while a view is alive.
        let bytes = unsafe { slice::from_raw_parts(self.addr as *const u8, self.len) };
        GrantRef { bytes }
    }

    /// The buffer, writable; `None` if the grant is read-only for this compartment.
    /// Drop the view before the next gate call.
    pub fn bytes_mut(&mut self) -> Option<GrantMut<'_>> {
        if !self.writable {
            return None;
        }
        live_views().fetch_add(LIVE_VIEW, Ordering::Relaxed);
        // SAFETY: as in `bytes`, and the buffer is mapped writable (GRANT's flag); the
        // `&mut self` borrow makes this the only view of it.
        let bytes = unsafe { slice::from_raw_parts_mut(self.addr as *mut u8, self.len) };
        Some(GrantMut { bytes })
    }
}

impl Drop for Grant {
    fn drop(&mut self) {
        for h in &HELD {
            let _ = h.compare_exchange(self.addr, 0, Ordering::Relaxed, Ordering::Relaxed);
        }
    }
}

/// A read-only view of a grant (derefs to `[u8]`).
#[derive(Debug)]
pub struct GrantRef<'a> {
    bytes: &'a [u8],
}

impl Deref for GrantRef<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.bytes
    }
}

impl Drop for GrantRef<'_> {
    fn drop(&mut self) {
        live_views().fetch_sub(LIVE_VIEW, Ordering::Relaxed);
    }
}

/// A writable view of a grant (derefs to `[u8]`).
#[derive(Debug)]
pub struct GrantMut<'a> {
    bytes: &'a mut [u8],
}

impl Deref for GrantMut<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.bytes
    }
}

impl DerefMut for GrantMut<'_> {
    fn deref_mut(&mut self) -> &mut [u8] {
        self.bytes
    }
}

impl Drop for GrantMut<'_> {
    fn drop(&mut self) {
        live_views().fetch_sub(LIVE_VIEW, Ordering::Relaxed);
    }
}

/// A live grant view that is not a [`GrantRef`] / [`GrantMut`] (the borrows of
/// [`crate::grant_static::StaticGrant`]): counted while alive, so gate calls panic.
#[derive(Debug)]
pub(crate) struct LiveView(());

impl LiveView {
    pub(crate) fn new() -> Self {
        live_views().fetch_add(LIVE_VIEW, Ordering::Relaxed);
        Self(())
    }
}

impl Drop for LiveView {
    fn drop(&mut self) {
        live_views().fetch_sub(LIVE_VIEW, Ordering::Relaxed);
    }
}
