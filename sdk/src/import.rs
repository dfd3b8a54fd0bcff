//! Typed calls to other compartments: [`import!`](crate::import) and the [`Import`] it
//! builds on (an export looked up once, then cached).

use core::sync::atomic::{AtomicU64, Ordering};

use crate::gate::{self, CallError, Export};

/// Set in [`Import`]'s cache once LOOKUP succeeded. LOOKUP's result is a non-negative
/// i64, so its bit 63 is always clear.
const RESOLVED: u64 = 1 << 63;

/// An export of another compartment, named by compartment and export name, looked up
/// with LOOKUP on first use and cached (a failed lookup is not cached: the next call
/// asks again).
#[derive(Debug)]
pub struct Import {
    compartment: &'static str,
    export: &'static str,
    cache: AtomicU64,
}

impl Import {
    pub const fn new(compartment: &'static str, export: &'static str) -> Self {
        Self {
            compartment,
            export,
            cache: AtomicU64::new(0),
        }
    }

    /// The export's view and index: cached, or looked up now.
    pub fn resolve(&self) -> Result<Export, CallError> {
        // Relaxed is enough: one vCPU, and a racing second lookup would store the same
        // value anyway.
        let cached = self.cache.load(Ordering::Relaxed);
        if cached & RESOLVED != 0 {
            return Ok(Export::from_packed(cached & !RESOLVED));
        }
        let target = gate::lookup(self.compartment, self.export)?;
        self.cache
            .store(target.packed() | RESOLVED, Ordering::Relaxed);
        Ok(target)
    }

    /// Calls the export with six arguments (see [`gate::call`]; its panic names the
    /// caller's line).
    #[track_caller]
    #[inline(always)]
    pub fn call(&self, args: [u64; 6]) -> Result<u64, CallError> {
        crate::grant::assert_no_live_views();
        self.call_unchecked(args)
    }

    /// [`Import::call`] once no grant view is alive.
    fn call_unchecked(&self, args: [u64; 6]) -> Result<u64, CallError> {
        gate::call_unchecked(self.resolve()?, args)
    }
}

/// `args` followed by zeros: the six argument registers of a gate call.
#[doc(hidden)]
pub fn pad_args(args: &[u64]) -> [u64; 6] {
    let mut regs = [0; 6];
    for (reg, arg) in regs.iter_mut().zip(args) {
        *reg = *arg;
    }
    regs
}

/// Declares the exports of other compartments this one calls, as typed functions.
///
/// ```ignore
/// tessera_sdk::import! {
///     vault {
///         fn sign(offset: u64, len: u64, out: u64) -> u64;
///     }
///     // A compartment whose name is not a Rust identifier:
///     faulty_crash = "faulty-crash" {
///         fn crash();
///     }
/// }
///
/// let n: u64 = vault::sign(0, 5, 256)?;   // Result<u64, CallError>
/// faulty_crash::crash()?;                 // Result<(), CallError>
/// ```
///
/// Each block becomes a module (`pub mod vault`) with one function per export. The
/// first call looks the export up (LOOKUP; the manifest must list the compartment in
/// this one's `calls=`), later calls use the cached view and index. Arguments (at most
/// six) are integers or `bool` ([`IntoArg`](crate::gate::IntoArg)); the result type
/// (default `()`, as for a Rust `fn`) is an integer, `bool` or `()` ([`FromRet`](crate::gate::FromRet)).
/// A failed lookup returns `NoSuchExport` / `NotPermitted`.
#[macro_export]
macro_rules! import {
    ($(
        $module:ident $(= $name:literal)? {
            $(
                $(#[$attr:meta])*
                fn $fn:ident($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)?;
            )*
        }
    )*) => {$(
        #[allow(dead_code)]
        pub mod $module {
            #[allow(unused_imports)]
            use super::*;

            /// The compartment these functions call.
            pub const COMPARTMENT: &str = $crate::__import_name!($module $(, $name)?);

            $(
                $(#[$attr])*
                #[track_caller]
                pub fn $fn(
                    $($arg: $ty),*
                ) -> ::core::result::Result<$crate::__ret_ty!($($ret)?), $crate::gate::CallError> {
                    const ARGS: usize = 0 $(+ { let _ = ::core::stringify!($arg); 1 })*;
                    const _: () = ::core::assert!(ARGS <= 6, "a gate call carries at most 6 arguments");
                    static IMPORT: $crate::import::Import =
                        $crate::import::Import::new(COMPARTMENT, ::core::stringify!($fn));
                    let args = $crate::import::pad_args(&[
                        $($crate::gate::IntoArg::into_arg($arg)),*
                    ]);
                    IMPORT.call(args).map($crate::gate::FromRet::from_ret)
                }
            )*
        }
    )*};
}

/// The compartment name of an [`import!`] block: the given literal, else the module name.
#[doc(hidden)]
#[macro_export]
macro_rules! __import_name {
    ($module:ident) => {
        ::core::stringify!($module)
    };
    ($module:ident, $name:literal) => {
        $name
    };
}

/// A declared return type, or `()` when there is none (as for a Rust `fn`).
#[doc(hidden)]
#[macro_export]
macro_rules! __ret_ty {
    () => {
        ()
    };
    ($ret:ty) => {
        $ret
    };
}
