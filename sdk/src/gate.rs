//! Gate calls: calling an export of another compartment (see [`tessera_abi::gate`]).
//!
//! This module is the only place in the SDK that enters the gate. A call loads R11 =
//! target view, RAX = export index, RDI, RSI, RDX, R10, R8, R9 = six arguments (unused
//! ones are zero, so nothing of the caller's leaks through them), and executes
//! `call [rip + GATE_ENTRY]` (a static holding `gate::CODE + gate::entry::CALL`). The
//! gate switches views, runs the export on the callee's stack, and returns here with
//! RAX = result, RDX = status. It preserves
//! RBX, RBP, R15 and RSP; R12–R14 are declared clobbered (the compiler saves them where
//! they are live) and every other register is scrubbed.
//!
//! Most code uses the typed wrappers [`import!`](crate::import) generates; [`lookup`] and
//! [`call`] are the untyped layer under them.

use core::arch::asm;
use core::fmt;

use tessera_abi::error;
use tessera_abi::gate::{self, status};

use crate::grant;
use crate::hypercall::{Error, raw};

/// Why a gate call (or the lookup before it) did not return a result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallError {
    /// The callee faulted during this call, or had failed before (it is stopped), or a
    /// compartment further down the call never answered.
    CalleeFailed,
    /// The callee (or the export) does not exist.
    NoSuchExport,
    /// The manifest does not let this compartment call the callee.
    NotPermitted,
    /// The callee already runs its maximum number of nested activations (manifest
    /// `max_depth`), or the caller's own call stack is full.
    TooDeep,
    /// The callee's gate refused the message as invalid (a protocol error of the callee
    /// or of a compartment it called).
    Refused,
    /// The callee faulted and the hypervisor restarts it from its pristine image
    /// (manifest `restart = "on-fault"`) once the call chain that ran in it has been
    /// answered: try again later (after this compartment's own pending calls returned).
    Restarting,
    /// The callee is serial (manifest `concurrency = "serial"`, the default) and busy on
    /// another vCPU: it has an activation there, or its `main` runs there. Its gate
    /// refused the call and changed nothing: retry later.
    Busy,
    /// LOOKUP failed with another hypercall error (e.g. the hypercall is not allowed).
    Lookup(Error),
    /// The gate returned a status this SDK does not know (a newer ABI).
    UnknownStatus(u64),
    /// A typed call's arguments do not fit in the call buffer (manifest `call_buffer=`
    /// on the callee sizes it).
    TooLarge,
    /// This compartment has no call buffer to the callee (no `calls` edge).
    NoBuffer,
    /// The callee's shim refused the typed call before or after running the function
    /// (arguments malformed, result too large, another interface version, re-entered).
    Rejected(tessera_wire::Rejection),
    /// The callee's reply is not a valid encoding of the result type (or its length
    /// exceeds the buffer): a broken or hostile callee.
    BadReply,
}

impl CallError {
    /// The error for gate status `status` (`None` for [`status::OK`]).
    pub fn from_status(status: u64) -> Option<Self> {
        match status {
            status::OK => None,
            status::CALLEE_FAILED => Some(Self::CalleeFailed),
            status::NO_SUCH_EXPORT => Some(Self::NoSuchExport),
            status::NOT_PERMITTED => Some(Self::NotPermitted),
            status::TOO_DEEP => Some(Self::TooDeep),
            status::REFUSED => Some(Self::Refused),
            status::RESTARTING => Some(Self::Restarting),
            status::BUSY => Some(Self::Busy),
            other => Some(Self::UnknownStatus(other)),
        }
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CalleeFailed => f.write_str("callee failed"),
            Self::NoSuchExport => f.write_str("no such export"),
            Self::NotPermitted => f.write_str("not permitted"),
            Self::TooDeep => f.write_str("call stack too deep"),
            Self::Refused => f.write_str("refused by the callee's gate"),
            Self::Restarting => f.write_str("callee restarting"),
            Self::Busy => f.write_str("the callee is serial and busy on another vCPU; retry later"),
            Self::Lookup(e) => write!(f, "lookup failed: {e}"),
            Self::UnknownStatus(s) => write!(f, "unknown gate status {s}"),
            Self::TooLarge => f.write_str("arguments too large for the call buffer"),
            Self::NoBuffer => f.write_str("no call buffer to the callee"),
            Self::Rejected(r) => write!(f, "rejected: {r}"),
            Self::BadReply => f.write_str("malformed reply"),
        }
    }
}

/// An export of another compartment, as LOOKUP names it: the callee's view and the
/// export's index in the callee's manifest `exports=` list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Export {
    pub view: u32,
    pub index: u32,
}

impl Export {
    /// Decodes LOOKUP's result `(view << 32) | index`.
    pub const fn from_packed(packed: u64) -> Self {
        Self {
            view: (packed >> 32) as u32,
            index: packed as u32,
        }
    }

    /// `(view << 32) | index`, as LOOKUP returns it.
    pub const fn packed(self) -> u64 {
        ((self.view as u64) << 32) | self.index as u64
    }
}

/// Looks up export `export` of compartment `compartment` (the LOOKUP hypercall).
pub fn lookup(compartment: &str, export: &str) -> Result<Export, CallError> {
    // SAFETY: both names are live shared slices, readable for their whole length for the
    // duration of the call; LOOKUP only reads them.
    let ret = unsafe {
        raw::lookup(
            compartment.as_ptr() as u64,
            compartment.len() as u64,
            export.as_ptr() as u64,
            export.len() as u64,
        )
    };
    match Error::check(ret) {
        Ok(packed) => Ok(Export::from_packed(packed)),
        Err(Error(error::NO_SUCH_EXPORT)) => Err(CallError::NoSuchExport),
        Err(Error(error::NOT_PERMITTED)) => Err(CallError::NotPermitted),
        Err(e) => Err(CallError::Lookup(e)),
    }
}

/// Calls `target` with six arguments through the gate and returns its result.
///
/// Pass zero for unused arguments: the callee receives all six registers.
///
/// # Panics
///
/// If a view of a grant ([`crate::grant::Grant::bytes`] / `bytes_mut`) is alive: the
/// callee may write the shared buffer during the call, which would change memory behind
/// a live Rust reference. Drop such views before calling (a temporary in an expression
/// statement is dropped at its end).
///
/// The panic names the caller's line (`#[track_caller]`), not this file. The check costs
/// the hot path one instruction: the live-view word (0, or at least 2^32 while a view is
/// alive) is ORed into the target view, so the gate's own bound refuses such a call
/// before any switch and the refusal's cold path panics.
#[track_caller]
#[inline(always)]
pub fn call(target: Export, args: [u64; 6]) -> Result<u64, CallError> {
    let (result, status) = raw_call(target.view.into(), target.index.into(), args);
    if status == status::OK {
        Ok(result)
    } else {
        Err(refused(status))
    }
}

/// The cold path of [`call`]: a live grant view (the call was refused before any switch)
/// panics with the caller's location, anything else is the status's error.
#[cold]
#[inline(never)]
#[track_caller]
pub(crate) fn refused(status: u64) -> CallError {
    grant::assert_no_live_views();
    failed(status)
}

/// [`call`] once no grant view is alive.
#[inline(always)]
pub(crate) fn call_unchecked(target: Export, args: [u64; 6]) -> Result<u64, CallError> {
    call_view(target.view.into(), target.index.into(), args)
}

/// The gate call with the status decoded: the success path is one test of RDX, the
/// errors are built out of line.
#[inline(always)]
pub(crate) fn call_view(view: u64, index: u64, args: [u64; 6]) -> Result<u64, CallError> {
    let (result, status) = raw_call(view, index, args);
    if status == status::OK {
        Ok(result)
    } else {
        Err(failed(status))
    }
}

/// The error for a gate status other than OK (off the hot path).
#[cold]
#[inline(never)]
pub(crate) fn failed(status: u64) -> CallError {
    CallError::from_status(status).unwrap_or(CallError::UnknownStatus(status))
}

/// The gate's entry point, as a value the call reads its target from: `call qword ptr
/// [rip + GATE_ENTRY]` is one instruction with no register to load first. A constant,
/// not an address of this image, so it needs no relocation.
static GATE_ENTRY: u64 = gate::CODE + gate::entry::CALL;

/// The gate call itself: returns `(RAX, RDX)` = (result, status). `view` is R11: a view
/// index, or anything the gate's bound refuses (at least `VIEWS`: `NO_SUCH_EXPORT`, no
/// switch), as an unresolved import's is. The live-view word of the state page is ORed
/// into it (`or r11, [SDK_LIVE_VIEWS]`): 0, or at least 2^32 while a grant view is alive,
/// so such a call is refused the same way (`grant::LIVE_VIEW`).
#[inline(always)]
pub(crate) fn raw_call(view: u64, index: u64, args: [u64; 6]) -> (u64, u64) {
    let answer = raw_call_back(view, index, args);
    (answer.result, answer.status)
}

/// What [`raw_call_back`] returns.
pub(crate) struct Answer {
    pub result: u64,
    pub status: u64,
    /// The six argument registers as the gate left them: after a refusal by `gate_call`'s
    /// own view bound (no switch) the arguments the call was made with (RDI, RSI, R10, R8,
    /// R9 untouched, RDX's value in RCX); after anything else, meaningless.
    pub args: [u64; 6],
}

/// [`raw_call`], also returning the argument registers as the gate left them, so that a
/// call its own bound refused can be made again without keeping the arguments alive
/// across it (the compiler reads the outputs only where they are used: on the cold path).
#[inline(always)]
pub(crate) fn raw_call_back(view: u64, index: u64, args: [u64; 6]) -> Answer {
    let [a0, a1, a2, a3, a4, a5] = args;
    let (result, status): (u64, u64);
    let (b0, b1, b2, b3, b4, b5): (u64, u64, u64, u64, u64, u64);
    // SAFETY: the gate's entry point is executable in every view and behaves like a
    // System V function as far as this compartment's state goes, except that R12–R14
    // are not preserved: it returns here with RSP restored, keeps RBX, RBP and R15, and
    // everything else it may change is declared: the argument and protocol registers as
    // operands, R12–R14 as clobbers (the compiler saves them only where they are live,
    // cheaper than the gate saving them on every call: R12 and R13 carry the reply's op
    // and result), every other caller-saved register (GPRs, vector, x87, flags) through
    // `clobber_abi("sysv64")` (RCX is an output). `GATE_ENTRY` is a readable static of
    // this image holding the entry's address; the OR reads the SDK's own word of the
    // state page, mapped readable at that address in every view.
    // The asm is not `nomem`: the callee may write grants, so the compiler must not
    // cache memory across it (and `call` refuses to run while a Rust reference into a
    // grant is live). The only memory it writes in this view is the return address pushed
    // below RSP (hence no `nostack`) and the gate's words of this view's state page,
    // which no Rust code references (the SDK's own word there, `grant::live_views`, it
    // never touches).
    unsafe {
        asm!(
            "or r11, qword ptr [{live}]",
            "call qword ptr [rip + {entry}]",
            live = const gate::STATE + gate::state::SDK_LIVE_VIEWS,
            entry = sym GATE_ENTRY,
            inlateout("r11") view => _,
            inlateout("rax") index => result,
            inlateout("rdi") a0 => b0,
            inlateout("rsi") a1 => b1,
            inlateout("rdx") a2 => status,
            out("rcx") b2,
            inlateout("r10") a3 => b3,
            inlateout("r8") a4 => b4,
            inlateout("r9") a5 => b5,
            out("r12") _,
            out("r13") _,
            out("r14") _,
            clobber_abi("sysv64"),
        );
    }
    Answer {
        result,
        status,
        args: [b0, b1, b2, b3, b4, b5],
    }
}

/// A value a gate call can carry as an argument: converted to the u64 in its register.
///
/// Signed integers are sign-extended, so the callee's [`crate::export::FromArg`]
/// truncation gives back the same value.
pub trait IntoArg {
    fn into_arg(self) -> u64;
}

/// A value a gate call's u64 result converts to (integers truncate, `bool` is `!= 0`,
/// `()` ignores it).
pub trait FromRet {
    fn from_ret(raw: u64) -> Self;
}

macro_rules! int_conversions {
    ($($t:ty),*) => {$(
        #[allow(clippy::unnecessary_cast)]
        impl IntoArg for $t {
            #[inline]
            fn into_arg(self) -> u64 {
                // Sign-extends signed types; the round trip through FromArg is exact.
                self as u64
            }
        }
        #[allow(clippy::unnecessary_cast)]
        impl FromRet for $t {
            #[inline]
            fn from_ret(raw: u64) -> Self {
                raw as $t
            }
        }
    )*};
}
int_conversions!(u64, u32, u16, u8, usize, i64, i32, i16, i8, isize);

impl IntoArg for bool {
    #[inline]
    fn into_arg(self) -> u64 {
        self.into()
    }
}

impl FromRet for bool {
    #[inline]
    fn from_ret(raw: u64) -> Self {
        raw != 0
    }
}

impl FromRet for () {
    #[inline]
    fn from_ret(_: u64) -> Self {}
}
