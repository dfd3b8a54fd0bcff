//! Hypercalls: `VMCALL` with the number in RAX, arguments in RDI, RSI, RDX, R10, R8, R9
//! and the result in RAX (see [`tessera_abi::hypercall`]). This module is the only place
//! in the SDK that executes `VMCALL`: [`hypercall`] and [`hypercall3`] take any number,
//! [`raw`] has one typed wrapper per hypercall of the ABI's table, and the SDK's safe
//! wrappers (here, [`crate::console`], [`crate::grant()`], …) call those.

use core::arch::asm;
use core::fmt;

use tessera_abi::{error, hypercall as nr};

pub mod raw;

/// Executes hypercall `nr` with up to six arguments and returns RAX: `>= 0` on success,
/// a negative [`tessera_abi::error`] code on failure.
///
/// `VMCALL` (`0F 01 C1`) exits to the hypervisor (Intel SDM Vol. 3C §25.1.3: VMCALL in VMX
/// non-root operation causes a VM exit); on AMD it raises #UD, which the hypervisor
/// intercepts and treats the same way. Either way the guest resumes after the instruction.
///
/// # Safety
///
/// The arguments must be what hypercall `nr` expects: every pointer argument must be
/// valid for the whole length the hypercall reads (or, for a hypercall that returns data
/// in memory, writes) until it returns, and a written buffer must not be aliased by any
/// live Rust reference.
#[inline]
#[allow(clippy::too_many_arguments)]
pub unsafe fn hypercall(nr: u64, a0: u64, a1: u64, a2: u64, a3: u64, a4: u64, a5: u64) -> i64 {
    // SAFETY: the caller upholds this function's contract, which is `hypercall3`'s.
    unsafe { hypercall3(nr, a0, a1, a2, a3, a4, a5) }.0
}

/// [`hypercall`] for the hypercalls that also return values in RDX and R10 (GRANT):
/// returns `(RAX, RDX, R10)`.
///
/// # Safety
///
/// As for [`hypercall`].
#[inline]
#[allow(clippy::too_many_arguments)]
pub unsafe fn hypercall3(
    nr: u64,
    a0: u64,
    a1: u64,
    a2: u64,
    a3: u64,
    a4: u64,
    a5: u64,
) -> (i64, u64, u64) {
    let (ret, rdx, r10): (i64, u64, u64);
    // SAFETY: VMCALL touches no guest state itself; the hypervisor reads (and, for some
    // hypercalls, writes) only the memory the arguments name, which the caller vouches
    // for. The asm is not `nomem`, so the compiler keeps memory accesses ordered around
    // it. Every argument register and RCX/R11 are treated as clobbered so the SDK relies
    // on nothing but RAX (and, for GRANT, RDX and R10) coming back. This is the only
    // place in the SDK that executes VMCALL.
    unsafe {
        asm!(
            "vmcall",
            inlateout("rax") nr => ret,
            inlateout("rdi") a0 => _,
            inlateout("rsi") a1 => _,
            inlateout("rdx") a2 => rdx,
            inlateout("r10") a3 => r10,
            inlateout("r8") a4 => _,
            inlateout("r9") a5 => _,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    (ret, rdx, r10)
}

/// A hypercall's negative result (a [`tessera_abi::error`] code), or [`Error::NO_PROGRESS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error(pub i64);

impl Error {
    /// Not an ABI code: CONSOLE_WRITE succeeded but wrote nothing, so retrying would spin.
    pub const NO_PROGRESS: Self = Self(0);

    /// `Ok(value)` for a result `>= 0`, `Err` for a negative one.
    pub fn check(ret: i64) -> Result<u64, Self> {
        u64::try_from(ret).map_err(|_| Self(ret))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.0 {
            error::UNKNOWN_HYPERCALL => "unknown hypercall",
            error::BAD_POINTER => "bad pointer",
            error::TOO_LARGE => "too large",
            error::NOT_PERMITTED => "not permitted",
            error::NO_SUCH_EXPORT => "no such export",
            error::NO_SUCH_GRANT => "no such grant",
            error::BAD_STATE => "bad state",
            error::OVER_BUDGET => "console budget spent",
            error::BAD_REPORT => "malformed report",
            error::IDENTITY_KEY => "identity key in a report",
            error::NO_SUCH_WORD => "no such report word",
            0 => "no progress",
            _ => "unknown error",
        };
        write!(f, "{name} ({})", self.0)
    }
}

/// Ends this compartment with `code` (EXIT). Never returns: should the hypervisor resume
/// the compartment anyway, it asks again.
pub fn exit(code: i32) -> ! {
    // The ABI takes an i32 in RDI; sign-extending keeps the low 32 bits exact.
    let code = i64::from(code) as u64;
    loop {
        // SAFETY: EXIT takes no pointer.
        unsafe { raw::exit(code) };
    }
}

/// The hypervisor's global VM-exit counter (EXIT_COUNT), or the hypercall's error.
pub fn try_exit_count() -> Result<u64, Error> {
    // SAFETY: EXIT_COUNT takes no pointer.
    Error::check(unsafe { raw::exit_count() })
}

/// The hypervisor's global VM-exit counter (EXIT_COUNT).
///
/// # Panics
///
/// If the hypervisor refuses the hypercall (e.g. the manifest does not allow it): a
/// silent 0 would corrupt a measurement. Use [`try_exit_count`] to handle that case.
/// The panic names the caller's line.
#[track_caller]
pub fn exit_count() -> u64 {
    match try_exit_count() {
        Ok(n) => n,
        Err(e) => panic!("EXIT_COUNT hypercall failed: {e}"),
    }
}

/// Writes `bytes` to the console (CONSOLE_WRITE), in chunks of at most
/// [`nr::CONSOLE_WRITE_MAX`] bytes. Stops at the first error.
pub fn console_write(mut bytes: &[u8]) -> Result<(), Error> {
    const MAX: usize = nr::CONSOLE_WRITE_MAX as usize;
    while !bytes.is_empty() {
        let chunk = &bytes[..bytes.len().min(MAX)];
        // SAFETY: `chunk` is a live shared slice, readable for its whole length for the
        // duration of the call; CONSOLE_WRITE only reads it.
        let ret = unsafe { raw::console_write(chunk.as_ptr() as u64, chunk.len() as u64) };
        let written = Error::check(ret)?;
        if written == 0 {
            return Err(Error::NO_PROGRESS);
        }
        let written = usize::try_from(written)
            .unwrap_or(usize::MAX)
            .min(chunk.len());
        bytes = &bytes[written..];
    }
    Ok(())
}
