//! The entry point: the hypervisor enters the image at `_start` (defined by [`entry!`]
//! in the compartment's own crate) per [`tessera_abi::entry`]: 64-bit, CPL 0, interrupts
//! off, RSP ≡ 8 (mod 16) — exactly the SysV state at a function's first instruction, so
//! `_start` is an ordinary `extern "C"` function — and RDI = 0.

use crate::{exit, heap};

/// What a compartment's `main` may return: `()` (exit code 0) or an `i32` exit code.
pub trait Termination {
    /// The exit code to report with EXIT.
    fn exit_code(self) -> i32;
}

impl Termination for () {
    fn exit_code(self) -> i32 {
        0
    }
}

impl Termination for i32 {
    fn exit_code(self) -> i32 {
        self
    }
}

/// Runs a compartment: sets up the heap, calls `main`, exits with its code. (Exports need
/// nothing at run time: the hypervisor reads them from the image's export table.)
#[doc(hidden)]
pub fn start<T: Termination>(main: impl FnOnce() -> T) -> ! {
    heap::init();
    exit(main().exit_code())
}

/// Declares the compartment's `main` and defines everything the image needs around it:
///
/// - `_start`, the ELF entry point (`e_entry`), which sets up the heap, calls `main`
///   (`fn() -> i32` or `fn()`) and ends the compartment with [`exit`](crate::exit);
/// - hermit-entry's entry-version note (section `.note.hermit.entry-version`, name
///   `HERMIT`, type `0x5a00`), without which the hypervisor's loader rejects the image;
/// - the ABI-version note (section `.note.tessera.abi-version`, name `TESSERA`, type 1,
///   [`tessera_abi::image`]) saying which [`ABI_VERSION`](tessera_abi::ABI_VERSION) the
///   image was built against: the hypervisor refuses an image that names another version
///   or none (`@@REJECT problem=abi-version`).
///
/// All three are emitted into the compartment's own crate: the linker always includes the
/// binary crate's objects, whereas an object of an rlib dependency that nothing
/// references can be left out, taking a `#[used]` note with it (rust-lang/rust#99721).
///
/// ```ignore
/// tessera_sdk::entry!(main);
/// fn main() -> i32 { 0 }
/// ```
///
/// `entry!(main, abi_version = N)` writes `N` into the ABI-version note instead of this
/// SDK's version, making an image the hypervisor refuses as built against ABI `N`. It
/// exists for the hypervisor's own test of that refusal (`compartments/stale-abi`); a
/// compartment has no other use for it.
///
/// Built for any target but `x86_64-unknown-none` (a plain `cargo build -p PKG` on the
/// host), `entry!` is a compile error that says how compartments are built, instead of
/// the linker's or the panic runtime's complaints further on. Libraries of the same
/// package that do not invoke it still build and test on the host (`cargo test -p
/// vault-vault --lib`).
#[cfg(any(target_os = "none", doc))]
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        $crate::entry!($main, abi_version = $crate::abi::ABI_VERSION);
    };
    ($main:path, abi_version = $version:expr) => {
        /// The ELF entry point: the hypervisor starts the compartment here.
        #[unsafe(no_mangle)]
        pub extern "C" fn _start() -> ! {
            $crate::__private::start($main)
        }

        const _: () = {
            $crate::__private::define_entry_version!();
        };

        // Section name: `tessera_abi::image::NOTE_SECTION` (the attribute takes a literal).
        const _: () = {
            #[used]
            #[unsafe(link_section = ".note.tessera.abi-version")]
            static ABI_VERSION_NOTE: $crate::abi::image::AbiVersionNote =
                $crate::abi::image::AbiVersionNote::new($version);
        };
    };
}

/// Host builds of a compartment stop here: see [`entry!`] on `x86_64-unknown-none`.
#[cfg(not(any(target_os = "none", doc)))]
#[macro_export]
macro_rules! entry {
    ($($anything:tt)*) => {
        ::core::compile_error!(::core::concat!(
            ::core::env!("CARGO_PKG_NAME"),
            " is a Tessera compartment, and compartments build for x86_64-unknown-none: \
             use `cargo xtask run --example APP` (APP: its directory in examples/) to build \
             and boot it, or `cargo build -p ",
            ::core::env!("CARGO_PKG_NAME"),
            " --target x86_64-unknown-none` to only build it"
        ));
    };
}
