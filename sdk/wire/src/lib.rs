//! How typed gate calls carry data: the encoding the SDK's `interface!` uses in a call
//! buffer (docs/gates.md "Call buffers"), kept apart from the SDK so it can be tested on
//! the host.
//!
//! A typed call encodes its arguments as one tuple with [postcard] (serde's data model,
//! varint integers, length-prefixed strings and byte slices) into the buffer of edge
//! caller → callee, and passes the encoded length in a register. The callee's shim copies
//! the bytes out ([`read`]), decodes them ([`decode`]), runs the function, encodes the
//! result into the same buffer ([`encode_into`]) and returns its length, or one of the
//! [`Rejection`] codes; the caller decodes the reply ([`reply`]).
//!
//! Every decode treats its input as hostile: the peer may have written anything into the
//! buffer and any length into the register. Bounds are checked before a byte is read, a
//! malformed or truncated encoding or trailing bytes are an error, never a panic (postcard
//! decodes from a slice with checked reads; `tests/hostile.rs` throws arbitrary bytes at
//! it).
//!
//! The hypervisor never reads a call buffer: none of this is in its TCB.
#![no_std]
#![forbid(unsafe_code)]
#![deny(clippy::too_many_lines)]

extern crate alloc;

use core::fmt;

pub use postcard;
pub use serde;
use serde::{Deserialize, Serialize};

/// Why bytes could not be encoded into, or decoded from, a call buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireError {
    /// The encoding does not fit in the buffer.
    TooLarge,
    /// A length larger than the buffer.
    BadLength,
    /// Not a valid encoding of the expected type (truncated, invalid UTF-8, an unknown
    /// enum variant, an over-long varint, trailing bytes, ...).
    Malformed,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TooLarge => "does not fit in the call buffer",
            Self::BadLength => "length larger than the call buffer",
            Self::Malformed => "malformed encoding",
        })
    }
}

/// Encodes `value` at the start of `buffer`; returns the bytes used.
///
/// # Errors
/// [`WireError::TooLarge`] if the encoding does not fit (`buffer` may then hold part of
/// it).
pub fn encode_into<T: Serialize + ?Sized>(
    value: &T,
    buffer: &mut [u8],
) -> Result<usize, WireError> {
    match postcard::to_slice(value, buffer) {
        Ok(used) => Ok(used.len()),
        Err(postcard::Error::SerializeBufferFull) => Err(WireError::TooLarge),
        // Serialisation into a slice fails only for want of room, or for a value serde
        // cannot express in postcard (e.g. a map or sequence of unknown length): neither
        // fits a call buffer.
        Err(_) => Err(WireError::TooLarge),
    }
}

/// The first `len` bytes of `buffer`, where `len` came from the peer.
///
/// # Errors
/// [`WireError::BadLength`] if `len` exceeds the buffer.
pub fn read(buffer: &[u8], len: u64) -> Result<&[u8], WireError> {
    usize::try_from(len)
        .ok()
        .and_then(|len| buffer.get(..len))
        .ok_or(WireError::BadLength)
}

/// Decodes a `T` from all of `bytes` (which it may borrow from: `&str` and `&[u8]`
/// arguments point into them).
///
/// # Errors
/// [`WireError::Malformed`] for anything but exactly one valid encoding of a `T`.
pub fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, WireError> {
    match postcard::take_from_bytes(bytes) {
        Ok((value, [])) => Ok(value),
        _ => Err(WireError::Malformed),
    }
}

/// Why a callee's shim refused a typed call instead of running the function: returned in
/// RAX in place of a reply length. Codes are the top of the u64 range, far above any
/// buffer size ([`MAX_LENGTH`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// The arguments did not decode (or their length exceeded the buffer).
    Malformed,
    /// The result's encoding did not fit in the buffer.
    TooLarge,
    /// The caller's signature fingerprint differs from the callee's: they were built from
    /// different versions of the interface.
    Mismatch,
    /// The callee found no call buffer for this caller (a raw gate call to a typed
    /// export from a compartment without a `calls` edge buffer).
    NoBuffer,
    /// The callee was already running a call of this server (`&mut self`): a re-entrant
    /// call into it is refused rather than aliasing the state.
    Busy,
}

impl Rejection {
    /// Every rejection, in code order (`u64::MAX`, `u64::MAX - 1`, ...).
    pub const ALL: [Self; 5] = [
        Self::Malformed,
        Self::TooLarge,
        Self::Mismatch,
        Self::NoBuffer,
        Self::Busy,
    ];

    /// The RAX value of this rejection.
    pub const fn code(self) -> u64 {
        u64::MAX
            - match self {
                Self::Malformed => 0,
                Self::TooLarge => 1,
                Self::Mismatch => 2,
                Self::NoBuffer => 3,
                Self::Busy => 4,
            }
    }

    /// The rejection a RAX value names, if any.
    pub fn from_code(code: u64) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Malformed => "the callee could not decode the arguments",
            Self::TooLarge => "the result does not fit in the call buffer",
            Self::Mismatch => "caller and callee were built from different interfaces",
            Self::NoBuffer => "the callee has no call buffer for this caller",
            Self::Busy => "the callee is already running a call (re-entrant call refused)",
        })
    }
}

/// Largest reply length: anything above is a [`Rejection`] code or garbage.
pub const MAX_LENGTH: u64 = 1 << 32;

/// What a reply in RAX says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
    /// The result's encoding is this many bytes long.
    Length(u64),
    /// The callee refused the call.
    Rejected(Rejection),
    /// Neither: the callee broke the convention.
    Garbage,
}

/// Reads RAX after a typed call.
pub fn reply(rax: u64) -> Reply {
    if rax <= MAX_LENGTH {
        Reply::Length(rax)
    } else {
        Rejection::from_code(rax).map_or(Reply::Garbage, Reply::Rejected)
    }
}

/// The 64-bit FNV-1a hash of `text`: the fingerprint of an interface function's
/// signature (`interface!` hashes the tokens of its declaration), recorded in the
/// images' notes for xtask and passed with each call.
pub const fn fingerprint(text: &str) -> u64 {
    let bytes = text.as_bytes();
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}
