//! Grants declared once as statics: [`grant!`](crate::grant) and [`StaticGrant`].
//!
//! A [`crate::grant::Grant`] handle is a value: keeping it between gate calls of an
//! export means a `static` with interior mutability, which user code could only write
//! with `RefCell` and an `unsafe impl Sync`, or looking the grant up again on every call
//! (a GRANT hypercall, so a VM exit, per use). A `StaticGrant` is a `static` that needs
//! neither: the first use looks the grant up (one GRANT exit for the life of the
//! compartment) and caches the answer; every later use is plain memory access.
//!
//! Two ways to reach the bytes:
//! - **copies** ([`StaticGrant::read`], [`StaticGrant::write`]): no Rust reference into
//!   the shared memory ever exists, so they are correct whatever peers write and may be
//!   used anywhere, including around gate calls;
//! - **borrows** ([`StaticGrant::with`], [`StaticGrant::with_mut`]): the closure gets the
//!   buffer as a slice. The borrow cannot escape the closure (the compiler checks that),
//!   a second borrow of the same grant while one is alive is refused
//!   ([`GrantError::Busy`], so two `&mut` never alias), and a gate call inside the
//!   closure panics naming the caller's line (the callee may write the buffer during the
//!   call, behind the live slice; see [`crate::grant`]).
//!
//! ```ignore
//! tessera_sdk::grant!(static MSG = "msg");
//!
//! MSG.write(0, b"attack at dawn")?;             // copy in
//! let n = vault::sign(0, 14, 2048)?;            // the callee writes the MAC
//! let mut mac = [0; 32];
//! MSG.read(2048, &mut mac)?;                    // copy out
//! let sum = MSG.with(|b| b.iter().map(|&x| u64::from(x)).sum::<u64>())?;
//! ```

use core::fmt;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::grant::{self, Grant};
use crate::hypercall::Error;

/// Why a [`StaticGrant`] access did not happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantError {
    /// The lookup failed (e.g. `NO_SUCH_GRANT`: the manifest does not grant it to this
    /// compartment; `BAD_STATE`: a [`Grant`] handle for it is alive). Not cached: the
    /// next use asks again.
    Lookup(Error),
    /// `offset + len` lies outside the grant.
    OutOfRange {
        offset: usize,
        len: usize,
        size: usize,
    },
    /// A write to a grant this compartment may only read.
    ReadOnly,
    /// A [`StaticGrant::with`] / [`StaticGrant::with_mut`] borrow of this grant is alive.
    Busy,
}

impl fmt::Display for GrantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Lookup(e) => write!(f, "grant lookup failed: {e}"),
            Self::OutOfRange { offset, len, size } => write!(
                f,
                "{len} bytes at offset {offset} do not fit the grant's {size} bytes"
            ),
            Self::ReadOnly => f.write_str("the grant is read-only for this compartment"),
            Self::Busy => f.write_str("the grant is already borrowed"),
        }
    }
}

/// A grant named in the manifest, as a `static` (see the module documentation). Declare
/// it with [`grant!`](crate::grant).
#[derive(Debug)]
pub struct StaticGrant {
    name: &'static str,
    /// Guest address once looked up; 0 before.
    addr: AtomicU64,
    /// Bytes; bit 63 set when writable.
    size: AtomicU64,
    borrowed: AtomicBool,
}

const WRITABLE: u64 = 1 << 63;

impl StaticGrant {
    /// The grant `name` of the manifest; nothing is looked up until the first use.
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            addr: AtomicU64::new(0),
            size: AtomicU64::new(0),
            borrowed: AtomicBool::new(false),
        }
    }

    /// The grant's name in the manifest.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// `(address, size, writable)`: cached, or looked up now. The lookup takes a
    /// [`Grant`] handle and keeps it for the life of the compartment, so no other handle
    /// (another `StaticGrant` of the same name included) can alias this one's borrows.
    fn resolve(&self) -> Result<(u64, usize, bool), GrantError> {
        // Relaxed is enough: one vCPU, and exports run to completion on it.
        let addr = self.addr.load(Ordering::Relaxed);
        if addr != 0 {
            let size = self.size.load(Ordering::Relaxed);
            return Ok((addr, (size & !WRITABLE) as usize, size & WRITABLE != 0));
        }
        let handle: Grant = grant::grant(self.name).map_err(GrantError::Lookup)?;
        let (addr, len, writable) = (handle.addr(), handle.len(), handle.is_writable());
        // Keep the handle's exclusivity for good: its slot in the SDK's table stays taken.
        core::mem::forget(handle);
        let flag = if writable { WRITABLE } else { 0 };
        self.size.store(len as u64 | flag, Ordering::Relaxed);
        self.addr.store(addr, Ordering::Relaxed);
        Ok((addr, len, writable))
    }

    /// Size in bytes (looks the grant up on first use). Named `size`, not `len`: it can
    /// fail, and a grant is never empty (at least a page).
    pub fn size(&self) -> Result<usize, GrantError> {
        Ok(self.resolve()?.1)
    }

    /// Whether this compartment may write the grant (looks it up on first use).
    pub fn is_writable(&self) -> Result<bool, GrantError> {
        Ok(self.resolve()?.2)
    }

    /// The address of `[offset, offset + len)`, checked against the grant's size.
    fn range(&self, offset: usize, len: usize) -> Result<(u64, bool), GrantError> {
        let (addr, size, writable) = self.resolve()?;
        match offset.checked_add(len) {
            Some(end) if end <= size => Ok((addr + offset as u64, writable)),
            _ => Err(GrantError::OutOfRange { offset, len, size }),
        }
    }

    /// Copies `out.len()` bytes from the grant at `offset` into `out`.
    pub fn read(&self, offset: usize, out: &mut [u8]) -> Result<(), GrantError> {
        let (src, _) = self.range(offset, out.len())?;
        // SAFETY: `range` checked that [src, src + out.len()) lies in the grant, which the
        // hypervisor maps readable in this view for the compartment's life. No Rust
        // reference to that memory is created: peers may have written it, and bytes are
        // valid whatever their value. `out` is this compartment's own memory, disjoint
        // from the grant (the grant is not a Rust allocation).
        unsafe { ptr::copy_nonoverlapping(src as *const u8, out.as_mut_ptr(), out.len()) };
        Ok(())
    }

    /// Copies `data` into the grant at `offset`.
    pub fn write(&self, offset: usize, data: &[u8]) -> Result<(), GrantError> {
        let (dst, writable) = self.range(offset, data.len())?;
        if !writable {
            return Err(GrantError::ReadOnly);
        }
        if self.borrowed.load(Ordering::Relaxed) {
            // A live `with` slice must not change under its reader.
            return Err(GrantError::Busy);
        }
        // SAFETY: as in `read`, and the grant is mapped writable in this view (GRANT's
        // flag); no borrow of it is alive (checked above), so no Rust reference sees
        // the bytes change.
        unsafe { ptr::copy_nonoverlapping(data.as_ptr(), dst as *mut u8, data.len()) };
        Ok(())
    }

    /// Runs `f` on the grant's bytes. A gate call inside `f` panics (see the module
    /// documentation); a nested borrow of the same grant returns [`GrantError::Busy`].
    pub fn with<R>(&self, f: impl FnOnce(&[u8]) -> R) -> Result<R, GrantError> {
        let (addr, size, _) = self.resolve()?;
        let _borrow = Borrow::take(self)?;
        // SAFETY: the grant is mapped readable for `size` bytes at `addr` (checked by
        // `grant::grant`: non-null, not wrapping, <= isize::MAX). Nothing writes it while
        // the slice lives: `borrowed` excludes this grant's `write` and `with_mut`, the
        // only handle for it is this static's (kept from `resolve`), and peers run only
        // during gate calls, which panic while a borrow is alive (Borrow counts as a live
        // grant view). The slice cannot outlive `f`.
        let bytes = unsafe { core::slice::from_raw_parts(addr as *const u8, size) };
        Ok(f(bytes))
    }

    /// Runs `f` on the grant's bytes, writable; [`GrantError::ReadOnly`] if the grant is
    /// read-only here. Otherwise as [`StaticGrant::with`].
    pub fn with_mut<R>(&self, f: impl FnOnce(&mut [u8]) -> R) -> Result<R, GrantError> {
        let (addr, size, writable) = self.resolve()?;
        if !writable {
            return Err(GrantError::ReadOnly);
        }
        let _borrow = Borrow::take(self)?;
        // SAFETY: as in `with`, and the grant is mapped writable; `borrowed` makes this
        // the only slice of it.
        let bytes = unsafe { core::slice::from_raw_parts_mut(addr as *mut u8, size) };
        Ok(f(bytes))
    }
}

/// A live borrow of a [`StaticGrant`]: marks it borrowed and counts as a live grant view
/// (so gate calls panic) until dropped, also when the closure panics or returns early.
struct Borrow<'a> {
    grant: &'a StaticGrant,
    _view: grant::LiveView,
}

impl<'a> Borrow<'a> {
    fn take(grant: &'a StaticGrant) -> Result<Self, GrantError> {
        if grant.borrowed.swap(true, Ordering::Relaxed) {
            return Err(GrantError::Busy);
        }
        Ok(Self {
            grant,
            _view: grant::LiveView::new(),
        })
    }
}

impl Drop for Borrow<'_> {
    fn drop(&mut self) {
        self.grant.borrowed.store(false, Ordering::Relaxed);
    }
}

/// Declares grants of the manifest as [`StaticGrant`] statics.
///
/// ```ignore
/// tessera_sdk::grant!(static MSG = "msg");
/// tessera_sdk::grant!(pub static LOG = "log");
/// ```
#[macro_export]
macro_rules! grant {
    ($(#[$attr:meta])* $vis:vis static $name:ident = $grant:literal $(;)?) => {
        $(#[$attr])*
        $vis static $name: $crate::grant_static::StaticGrant =
            $crate::grant_static::StaticGrant::new($grant);
    };
}
