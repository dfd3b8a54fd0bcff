//! Typed calls to other compartments: [`import!`](crate::import) and the [`Import`] it
//! builds on (an export looked up once, then cached).

use core::sync::atomic::{AtomicU64, Ordering};

use crate::gate::{self, CallError, Export};

/// [`Import`]'s cached view before LOOKUP succeeded: no view has this index (they are
/// below 512), so a call with it is refused by the gate's own `view < VIEWS` bound before
/// any switch (NO_SUCH_EXPORT), and the call's cold path looks the export up and calls
/// again. The hot path loads the cache and calls, with no test of its own.
const UNRESOLVED: u64 = u64::MAX;

/// An export of another compartment, named by compartment and export name, looked up
/// with LOOKUP on first use and cached (a failed lookup is not cached: the next call
/// asks again).
///
/// The cache is two words, the view (the "resolved" flag: [`UNRESOLVED`] until LOOKUP
/// succeeded) and the export index, so a cached call loads both with no decoding. The
/// index is stored first; on one vCPU a racing second lookup stores the same values.
#[derive(Debug)]
pub struct Import {
    compartment: &'static str,
    export: &'static str,
    view: AtomicU64,
    index: AtomicU64,
}

impl Import {
    pub const fn new(compartment: &'static str, export: &'static str) -> Self {
        Self {
            compartment,
            export,
            view: AtomicU64::new(UNRESOLVED),
            index: AtomicU64::new(0),
        }
    }

    /// The export's view and index: cached, or looked up now.
    pub fn resolve(&self) -> Result<Export, CallError> {
        let (view, index) = self.cached()?;
        Ok(Export {
            view: view as u32,
            index: index as u32,
        })
    }

    /// `(view, index)` from the cache, or looked up now (out of line).
    #[inline(always)]
    fn cached(&self) -> Result<(u64, u64), CallError> {
        // Relaxed is enough: one vCPU, and a racing second lookup would store the same
        // values anyway.
        let view = self.view.load(Ordering::Relaxed);
        if view == UNRESOLVED {
            return self.look_up();
        }
        Ok((view, self.index.load(Ordering::Relaxed)))
    }

    #[cold]
    #[inline(never)]
    fn look_up(&self) -> Result<(u64, u64), CallError> {
        let target = gate::lookup(self.compartment, self.export)?;
        let (view, index) = (u64::from(target.view), u64::from(target.index));
        self.index.store(index, Ordering::Relaxed);
        self.view.store(view, Ordering::Relaxed);
        Ok((view, index))
    }

    /// Calls the export with six arguments (see [`gate::call`]; its panic names the
    /// caller's line).
    ///
    /// The hot path is two loads, an OR and the gate call: an unresolved cache
    /// ([`UNRESOLVED`]) and a live grant view (the live-view word, at least 2^32 then, is
    /// ORed into the view) both make the gate refuse the call before any switch, and
    /// [`Import::refused`] tells the causes apart.
    #[track_caller]
    #[inline(always)]
    pub fn call(&self, args: [u64; 6]) -> Result<u64, CallError> {
        // Relaxed is enough: one vCPU, and a racing second lookup would store the same
        // values anyway.
        let view = self.view.load(Ordering::Relaxed);
        let index = self.index.load(Ordering::Relaxed);
        let answer = gate::raw_call_back(view, index, args);
        if answer.status == tessera_abi::gate::status::OK {
            Ok(answer.result)
        } else {
            let [a0, a1, a2, a3, a4, a5] = answer.args;
            self.refused(answer.status, (a0, a1, a2), (a3, a4, a5))
        }
    }

    /// The cold path of [`Import::call`]: a live grant view panics (with the caller's
    /// location); a call refused because the export was not looked up yet looks it up
    /// and calls again, with the arguments the refusal handed back (`gate_call`'s own
    /// bound refused it, so they are the call's: [`gate::Answer::args`]); any other status
    /// is its error.
    #[cold]
    #[inline(never)]
    #[track_caller]
    fn refused(
        &self,
        status: u64,
        (a0, a1, a2): (u64, u64, u64),
        (a3, a4, a5): (u64, u64, u64),
    ) -> Result<u64, CallError> {
        crate::grant::assert_no_live_views();
        if self.view.load(Ordering::Relaxed) == UNRESOLVED {
            let (view, index) = self.look_up()?;
            return gate::call_view(view, index, [a0, a1, a2, a3, a4, a5]);
        }
        Err(gate::failed(status))
    }
}

/// `args` followed by zeros: the six argument registers of a gate call (inlined, so the
/// padding is constants).
#[doc(hidden)]
#[inline(always)]
pub fn pad_args<const N: usize>(args: [u64; N]) -> [u64; 6] {
    let mut regs = [0; 6];
    let mut i = 0;
    while i < N && i < 6 {
        regs[i] = args[i];
        i += 1;
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
                #[inline]
                pub fn $fn(
                    $($arg: $ty),*
                ) -> ::core::result::Result<$crate::__ret_ty!($($ret)?), $crate::gate::CallError> {
                    const ARGS: usize = 0 $(+ { let _ = ::core::stringify!($arg); 1 })*;
                    const _: () = ::core::assert!(ARGS <= 6, "a gate call carries at most 6 arguments");
                    static IMPORT: $crate::import::Import =
                        $crate::import::Import::new(COMPARTMENT, ::core::stringify!($fn));
                    let args = $crate::import::pad_args([
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
