//! The panic handler: report `panicked at FILE:LINE:COL: MESSAGE` with the PANIC
//! hypercall, which stops the compartment and marks it failed. L1 prints the report on
//! the compartment's console and in `@@FAULT kind=panic message=` (docs/transcript.md).
//!
//! The location is the user's: every SDK function that panics on the caller's behalf (a
//! gate call while a grant view is alive, [`crate::exit_count`] refused, an export the
//! manifest does not declare) is `#[track_caller]` up to the user's code, so
//! `PanicInfo::location` names the user's file and line, not the SDK's.

use core::fmt::Write;
use core::panic::PanicInfo;
use core::sync::atomic::{AtomicBool, Ordering};

use tessera_abi::hypercall as nr;

use crate::hypercall::{exit, raw};
use crate::text::TruncatingBuf;

/// Longest panic report sent; longer ones are cut at a character boundary. Kept well
/// under [`nr::CONSOLE_WRITE_MAX`] because the buffer lives on the (64 KiB) stack.
pub const PANIC_MSG_MAX: usize = 1024;

const _: () = assert!(PANIC_MSG_MAX as u64 <= nr::CONSOLE_WRITE_MAX);

/// Set by the first panic; a panic while formatting that one (a `Display` impl that
/// panics) must not recurse.
static PANICKING: AtomicBool = AtomicBool::new(false);

/// Exit code used if the hypervisor resumes a compartment after PANIC (as Rust's std does
/// for a panicking process).
const PANIC_EXIT_CODE: i32 = 101;

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    let mut msg = TruncatingBuf::<PANIC_MSG_MAX>::new();
    if PANICKING.swap(true, Ordering::Relaxed) {
        let _ = msg.write_str("panicked while panicking");
    } else {
        // A full buffer makes `write!` return Err; what fit is kept, which is the point.
        let _ = match info.location() {
            Some(loc) => write!(
                msg,
                "panicked at {}:{}:{}: {}",
                loc.file(),
                loc.line(),
                loc.column(),
                info.message()
            ),
            None => write!(msg, "panicked: {}", info.message()),
        };
    }
    let bytes = msg.as_bytes();
    // SAFETY: `bytes` borrows `msg`, live and unmodified until the hypercall returns, and
    // is at most PANIC_MSG_MAX <= CONSOLE_WRITE_MAX bytes; PANIC only reads it.
    unsafe { raw::panic(bytes.as_ptr() as u64, bytes.len() as u64) };
    exit(PANIC_EXIT_CODE)
}
