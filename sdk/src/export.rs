//! Exports: functions other compartments call through the gate, declared with
//! [`exports!`](crate::exports) (or [`exports_raw!`](crate::exports_raw) for assembly),
//! which put them in the image's export table; the hypervisor reads it at load.
//!
//! The gate calls an export as a System V function: arguments in RDI, RSI, RDX, RCX, R8,
//! R9, result in RAX. The caller may be malicious, so every argument arrives as a raw
//! u64 and is converted with [`FromArg`], which is defined only for types every bit
//! pattern of which is valid after conversion (integers truncate, `bool` is `!= 0`).

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

/// One entry of the export table (docs/images.md, `tessera_abi::image`): an ELF note of
/// owner `TESSERA`, type `NT_EXPORT`, in section `.note.tessera.exports`, whose
/// descriptor is the format, the function's address relative to the field that holds
/// it (a link-time PC-relative value, so no relocation), and the name. Used by
/// [`exports!`](crate::exports) and [`exports_raw!`](crate::exports_raw).
#[doc(hidden)]
#[macro_export]
macro_rules! __export_note {
    ($name:ident, $function:path) => {
        ::core::arch::global_asm!(
            $crate::__export_note_asm!($name),
            ".popsection",
            ty = const $crate::abi::image::NT_EXPORT,
            format = const $crate::abi::image::EXPORT_FORMAT,
            function = sym $function,
            options(att_syntax),
        );
    };
}

/// The assembly of one export note, shared by [`__export_note!`](crate::__export_note)
/// (`global_asm!`) and `__typed_export_note!` (`asm!` in a generic function): it opens
/// the exports section and leaves it open, and names the operands `ty` (NT_EXPORT),
/// `format` and `function`, which the caller binds.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_note_asm {
    ($name:ident) => {
        ::core::concat!(
            // Section name: tessera_abi::image::EXPORT_SECTION (the directive takes a literal).
            ".pushsection .note.tessera.exports,\"a\",@note\n",
            ".balign 4\n",
            ".long 8\n",
            ".long 3f - 2f\n",
            ".long {ty}\n",
            ".asciz \"TESSERA\"\n",
            "2:\n",
            ".long {format}\n",
            ".long {function} - .\n",
            ".ascii \"",
            ::core::stringify!($name),
            "\"\n",
            "3:\n",
            ".balign 4\n",
        )
    };
}

/// Declares this compartment's exports: the functions other compartments may call
/// through the gate. Each function gets an entry in the image's export table (an ELF note,
/// docs/images.md) from which the hypervisor fills the view's info page when it loads
/// the image, before any code of the compartment runs: an export is callable as soon as
/// the image is loaded, whatever the order the compartments start in, and nothing
/// registers it at run time.
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
/// as 0). Every name the manifest's `exports=` lists for this compartment must be
/// defined here (or by [`exports_raw!`](crate::exports_raw)), else the hypervisor rejects the
/// image at load (`@@REJECT problem=missing-export`) and `cargo xtask` fails the build;
/// functions the manifest does not list stay uncallable. It may be invoked anywhere, more
/// than once, as long as each export name is defined once.
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
        $(
            $crate::__export_note!($name, $name);
        )*
    };
}

/// Declares exports written in assembly: each `unsafe NAME = SYMBOL;` puts the code at
/// `SYMBOL` (a function declared in an `extern "C"` block, defined by `global_asm!`) in
/// the export table as export `NAME`, as [`exports!`](crate::exports) does for Rust
/// functions.
///
/// ```ignore
/// tessera_sdk::exports_raw! {
///     // SAFETY: (why the code at my_probe may be called as documented below)
///     unsafe probe = my_probe;
/// }
/// ```
///
/// # Safety
///
/// The gate may call the code at `SYMBOL` at any time with any values in the six System V
/// argument registers; it must return (with `ret`) to its caller per the System V ABI,
/// keeping RBX, RBP, RSP, R12–R15. The `unsafe` keyword in the invocation says the
/// author checked this.
#[macro_export]
macro_rules! exports_raw {
    ($(unsafe $name:ident = $function:path;)*) => {
        $(
            $crate::__export_note!($name, $function);
        )*
    };
}
