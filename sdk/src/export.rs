//! Exports: functions other compartments call through the gate, declared with
//! [`exports!`](crate::exports) and registered (REGISTER_EXPORT) before `main` runs.
//!
//! The gate calls an export as a System V function: arguments in RDI, RSI, RDX, RCX, R8,
//! R9, result in RAX. The caller may be malicious, so every argument arrives as a raw
//! u64 and is converted with [`FromArg`], which is defined only for types every bit
//! pattern of which is valid after conversion (integers truncate, `bool` is `!= 0`).

use crate::hypercall::{Error, raw};

/// A type an export parameter can have: converted from the raw u64 register value.
pub trait FromArg {
    fn from_arg(raw: u64) -> Self;
}

/// A type an export can return: converted to the u64 left in RAX.
pub trait IntoRet {
    fn into_ret(self) -> u64;
}

macro_rules! int_conversions {
    ($($t:ty),*) => {$(
        #[allow(clippy::unnecessary_cast)]
        impl FromArg for $t {
            #[inline]
            fn from_arg(raw: u64) -> Self {
                // Truncation undoes the caller's sign extension (gate::IntoArg).
                raw as $t
            }
        }
        #[allow(clippy::unnecessary_cast)]
        impl IntoRet for $t {
            #[inline]
            fn into_ret(self) -> u64 {
                self as u64
            }
        }
    )*};
}
int_conversions!(u64, u32, u16, u8, usize, i64, i32, i16, i8, isize);

impl FromArg for bool {
    #[inline]
    fn from_arg(raw: u64) -> Self {
        raw != 0
    }
}

impl IntoRet for bool {
    #[inline]
    fn into_ret(self) -> u64 {
        self.into()
    }
}

impl IntoRet for () {
    #[inline]
    fn into_ret(self) -> u64 {
        0
    }
}

/// The function types an export can be registered as: `extern "C"` functions taking up
/// to six u64 arguments and returning a u64. Calling one with any register contents is
/// sound, which is what makes [`register_export`] safe.
pub trait ExportFn: Copy {
    /// The function's address.
    fn address(self) -> u64;
}

macro_rules! export_fns {
    ($(($($a:ident),*)),*) => {$(
        impl ExportFn for extern "C" fn($($a),*) -> u64 {
            fn address(self) -> u64 {
                self as usize as u64
            }
        }
    )*};
}
export_fns!(
    (),
    (u64),
    (u64, u64),
    (u64, u64, u64),
    (u64, u64, u64, u64),
    (u64, u64, u64, u64, u64),
    (u64, u64, u64, u64, u64, u64)
);

/// Registers `f` as export `name` (REGISTER_EXPORT) and returns its index (its position
/// in the manifest's `exports=` list). Allowed until `main` returns; [`exports!`]
/// registers its functions before `main` starts.
///
/// [`exports!`]: crate::exports
pub fn register_export<F: ExportFn>(name: &str, f: F) -> Result<u64, Error> {
    // SAFETY: ExportFn is implemented only for function types that are sound to call
    // with any argument values, so telling the gate to call `f` cannot break this
    // compartment's memory safety.
    unsafe { register_export_raw(name, f.address()) }
}

/// Registers the code at `address` as export `name` (REGISTER_EXPORT), for exports
/// written in assembly.
///
/// # Safety
///
/// `address` must be the entry of a function that the gate may call at any time with any
/// values in the six System V argument registers, and that returns (with `ret`) to its
/// caller per the System V ABI: it must keep RBX, RBP, RSP, R12–R15.
pub unsafe fn register_export_raw(name: &str, address: u64) -> Result<u64, Error> {
    // SAFETY: `name` is a live shared slice, readable for its whole length during the
    // call; REGISTER_EXPORT only reads it. The address's contract is the caller's.
    let ret = unsafe { raw::register_export(name.as_ptr() as u64, name.len() as u64, address) };
    Error::check(ret)
}

/// Registration for [`exports!`](crate::exports)' generated code: a failure means the
/// compartment does not match its manifest, so it panics, naming the export and (through
/// `#[track_caller]`) the user's `exports!` invocation.
#[doc(hidden)]
#[track_caller]
pub fn register_or_panic<F: ExportFn>(name: &str, f: F) {
    if let Err(e) = register_export(name, f) {
        panic!("cannot register export '{name}': {e} (is it in the manifest's exports=?)");
    }
}

/// What [`entry!`](crate::entry) calls when the crate declares no [`exports!`]: `entry!`
/// glob-imports this module into the crate root, and the function `exports!` defines
/// there shadows the glob import.
///
/// [`exports!`]: crate::exports
#[doc(hidden)]
pub mod no_exports {
    /// Registers nothing.
    pub fn __tessera_register_exports() {}
}

/// Declares this compartment's exports: the functions other compartments may call
/// through the gate. Invoke it once, in the crate root, next to [`entry!`](crate::entry);
/// `entry!` registers every export (REGISTER_EXPORT, by function name) before `main`.
///
/// ```ignore
/// tessera_sdk::exports! {
///     /// Adds one.
///     fn pong(x: u64) -> u64 {
///         x + 1
///     }
///     fn reset() {}
/// }
/// ```
///
/// Each function becomes an `extern "C"` function taking up to six u64s: parameters may
/// be integers or `bool` (see [`FromArg`]), the result an integer, `bool` or `()` (sent
/// as 0). The names must be listed in the manifest's `exports=` for this compartment; a
/// name it does not declare makes registration panic. Invoked anywhere but the crate
/// root, the registration function it defines is never called (and warns as unused).
#[macro_export]
macro_rules! exports {
    ($(
        $(#[$attr:meta])*
        $vis:vis fn $name:ident($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block
    )*) => {
        $(
            $(#[$attr])*
            $vis extern "C" fn $name($($arg: u64),*) -> u64 {
                const ARGS: usize = 0 $(+ { let _ = ::core::stringify!($arg); 1 })*;
                const _: () = ::core::assert!(ARGS <= 6, "an export takes at most 6 arguments");
                const _: () = ::core::assert!(
                    ::core::stringify!($name).len() <= 64,
                    "export names are at most 64 bytes"
                );
                fn body($($arg: $ty),*) -> $crate::__ret_ty!($($ret)?) $body
                $crate::export::IntoRet::into_ret(body(
                    $(<$ty as $crate::export::FromArg>::from_arg($arg)),*
                ))
            }
        )*

        /// Registers this compartment's exports; called by `entry!` before `main`.
        fn __tessera_register_exports() {
            $(
                $crate::export::register_or_panic(
                    ::core::stringify!($name),
                    $name as extern "C" fn($($arg: u64),*) -> u64,
                );
            )*
        }
    };
}
