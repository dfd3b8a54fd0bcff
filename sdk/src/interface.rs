//! Interfaces declared once: [`interface!`](crate::interface) generates, from one
//! declaration shared by both sides, the trait a callee implements, the typed client
//! stubs callers use, and the shims [`serve!`](crate::serve) exports. Names, arity and
//! types are therefore checked by the compiler; the export names in the image come from
//! the declaration, so they cannot drift from the callers'. Data crosses in the call
//! buffer of the edge ([`crate::typed`]).

/// Declares compartment interfaces: typed functions with data (strings, byte slices,
/// `Option`, `Result`, tuples, structs and enums deriving serde's `Serialize` and
/// `Deserialize`) as arguments and results.
///
/// ```ignore
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, Debug)]
/// pub enum StoreError { NotFound, Full }
///
/// tessera_sdk::interface! {
///     /// The key-value store.
///     pub mod store: Store = "store" {    // module, trait, compartment name
///         fn put(key: &str, value: &str) -> Result<(), StoreError>;
///         fn get(key: &str) -> Result<String, StoreError>;
///         fn ping(x: u64) -> u64;
///     }
/// }
/// ```
///
/// For each `mod` block (usually in an interface crate both compartments depend on):
/// - **`store::Store`**, a trait with one method per function, taking `&mut self` and the
///   arguments as declared. The callee implements it on a type with `Default` and
///   exports it with [`serve!`](crate::serve)`(path::to::store, MyStore)`.
/// - **client stubs** `store::put(key, value) -> Result<Result<(), StoreError>,
///   CallError>`: the outer `Result` is the call's (the gate's, or the encoding's:
///   [`CallError`](crate::CallError)), the inner one the function's own return type. So
///   `store::get("k")?` gives the store's `Result<String, StoreError>`.
/// - **`store::COMPARTMENT`** (`"store"`), and a signature fingerprint per function (the
///   FNV-1a hash of the declaration's tokens), passed with each call (a callee built from
///   another version of the interface refuses: `Rejected(Mismatch)`) and written in the
///   images' notes, where `cargo xtask` checks every import against the manifest and
///   the callee's image before anything boots.
///
/// Arguments are encoded into the caller→callee call buffer (default 4 KiB, manifest
/// `call_buffer=` on the callee); too large → `CallError::TooLarge`. Arguments are
/// owned types or `&str` / `&[u8]` (the callee borrows those from its private copy of
/// the bytes; other types are passed by value); results are owned types. The manifest
/// must list the callee in the caller's `calls=` and every function in the callee's
/// `exports=`.
#[macro_export]
macro_rules! interface {
    ($(
        $(#[$attr:meta])*
        $vis:vis mod $module:ident : $trait:ident = $name:literal {
            $(
                $(#[$fattr:meta])*
                fn $fn:ident($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)?;
            )*
        }
    )*) => {$(
        $(#[$attr])*
        #[allow(dead_code)]
        $vis mod $module {
            #[allow(unused_imports)]
            use super::*;

            /// The compartment that serves this interface (its manifest name).
            pub const COMPARTMENT: &str = $name;

            /// Implemented by the compartment that serves this interface (exported with
            /// `tessera_sdk::serve!`).
            pub trait $trait {
                $(
                    $(#[$fattr])*
                    fn $fn(&mut self $(, $arg: $ty)*) -> $crate::__ret_ty!($($ret)?);
                )*
            }

            /// Names this interface in `tessera_sdk::typed::Served`.
            #[derive(Debug)]
            pub struct Marker;

            /// Each function's signature fingerprint.
            #[doc(hidden)]
            #[allow(non_upper_case_globals)]
            pub mod __fingerprint {
                $(
                    pub const $fn: u64 = $crate::__private::fingerprint(::core::concat!(
                        ::core::stringify!($fn),
                        ::core::stringify!(($($ty),*)),
                        "->",
                        ::core::stringify!($crate::__ret_ty!($($ret)?))
                    ));
                )*
            }

            $(
                $(#[$fattr])*
                #[track_caller]
                #[inline(always)]
                pub fn $fn($($arg: $ty),*) -> ::core::result::Result<
                    $crate::__ret_ty!($($ret)?),
                    $crate::CallError,
                > {
                    $crate::__import_note!($name, $fn, __fingerprint::$fn);
                    static IMPORT: $crate::import::Import =
                        $crate::import::Import::new(COMPARTMENT, ::core::stringify!($fn));
                    $crate::typed::call(&IMPORT, __fingerprint::$fn, &($($arg,)*))
                }
            )*

            /// The export shims: `extern "C"` functions the gate calls, one per function.
            #[doc(hidden)]
            pub mod __shim {
                #[allow(unused_imports)]
                use super::*;
                $(
                    pub extern "C" fn $fn<S>(len: u64, fingerprint: u64) -> u64
                    where
                        S: super::$trait + ::core::default::Default
                            + $crate::typed::Served<super::Marker>,
                    {
                        $crate::typed::serve(len, fingerprint, super::__fingerprint::$fn, |bytes| {
                            let ($($arg,)*): ($($ty,)*) = $crate::typed::decode_args(bytes)?;
                            S::server().with(|server| server.$fn($($arg),*))
                        })
                    }
                )*
            }

            /// Emits the export table of `S`'s implementation (kept alive by `serve!`).
            #[doc(hidden)]
            #[inline(never)]
            pub fn __export_table<S>()
            where
                S: $trait + ::core::default::Default + $crate::typed::Served<Marker>,
            {
                $(
                    $crate::__typed_export_note!($fn, __shim::$fn::<S>, __fingerprint::$fn);
                )*
            }
        }
    )*};
}

/// Exports an implementation of an [`interface!`](crate::interface): every function of
/// the interface becomes an export of this compartment (named as in the interface), in
/// the image's export table. The type must implement the interface's trait and
/// `Default`; its value is created on the first call and lives as long as the
/// compartment ([`typed::Server`](crate::typed::Server)). Each call gets it as `&mut`,
/// so a call that arrives while another call of the same server is running (a
/// re-entrant call: the body called out and someone called back in) is refused with
/// `CallError::Rejected(Busy)`; serve two interfaces from two types to let one call the
/// other's back (scenario `typed-reentrant`).
///
/// ```ignore
/// #[derive(Default)]
/// struct MyStore { map: BTreeMap<String, String> }
/// impl kv_api::store::Store for MyStore { ... }
/// tessera_sdk::serve!(kv_api::store, MyStore);
/// ```
#[macro_export]
macro_rules! serve {
    ($($module:ident)::+, $ty:ty) => {
        impl $crate::typed::Served<$($module)::+::Marker> for $ty {
            fn server() -> &'static $crate::typed::Server<Self> {
                static SERVER: $crate::typed::Server<$ty> = $crate::typed::Server::new();
                &SERVER
            }
        }
        const _: () = {
            // Keeps the export table (notes emitted by this function's code) in the image.
            #[used]
            static EXPORT_TABLE: fn() = $($module)::+::__export_table::<$ty>;
        };
    };
}

/// The import note of one typed client stub (`tessera_abi::image::NT_IMPORT`), emitted
/// from inline assembly so it lands in the image of the crate whose code uses the stub.
#[doc(hidden)]
#[macro_export]
macro_rules! __import_note {
    ($compartment:literal, $export:ident, $fingerprint:expr) => {
        // SAFETY: the assembly only adds a note to the notes section; it emits no
        // instruction here and touches no register, memory or flag.
        unsafe {
            ::core::arch::asm!(
                ".pushsection .note.tessera.imports,\"a\",@note",
                ".balign 4",
                ".long 8",
                ".long 3f - 2f",
                ".long {ty}",
                ".asciz \"TESSERA\"",
                "2:",
                ".long {lo}",
                ".long {hi}",
                ::core::concat!(".asciz \"", $compartment, "\""),
                ::core::concat!(".ascii \"", ::core::stringify!($export), "\""),
                "3:",
                ".balign 4",
                ".popsection",
                ty = const $crate::abi::image::NT_IMPORT,
                lo = const ($fingerprint as u32),
                hi = const (($fingerprint >> 32) as u32),
                options(att_syntax, nomem, nostack, preserves_flags),
            );
        }
    };
}

/// The export note (`NT_EXPORT`, as [`exports!`](crate::exports) writes) and the signature
/// note (`NT_SIGNATURE`) of one typed export, from inline assembly in a generic function
/// so that `$function` can be a generic shim's instance.
#[doc(hidden)]
#[macro_export]
macro_rules! __typed_export_note {
    ($name:ident, $function:path, $fingerprint:expr) => {
        const _: () = ::core::assert!(
            ::core::stringify!($name).len() <= 64,
            "export names are at most 64 bytes"
        );
        // SAFETY: the assembly only adds notes to the notes section; it emits no
        // instruction here and touches no register, memory or flag.
        unsafe {
            ::core::arch::asm!(
                $crate::__export_note_asm!($name),
                ".long 8",
                ".long 5f - 4f",
                ".long {signature}",
                ".asciz \"TESSERA\"",
                "4:",
                ".long {lo}",
                ".long {hi}",
                ::core::concat!(".ascii \"", ::core::stringify!($name), "\""),
                "5:",
                ".balign 4",
                ".popsection",
                ty = const $crate::abi::image::NT_EXPORT,
                signature = const $crate::abi::image::NT_SIGNATURE,
                format = const $crate::abi::image::EXPORT_FORMAT,
                function = sym $function,
                lo = const ($fingerprint as u32),
                hi = const (($fingerprint >> 32) as u32),
                options(att_syntax, nomem, nostack, preserves_flags),
            );
        }
    };
}
