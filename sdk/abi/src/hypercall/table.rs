//! The hypercall table: one row per hypercall, the only place a hypercall is defined.

/// Calls `callback!` with every row of the hypercall table, so other crates generate code
/// from the same rows (the SDK its raw wrappers, the kernel nothing but an exhaustive
/// `match` on [`Hypercall`](crate::hypercall::Hypercall)).
///
/// One row is
///
/// ```text
/// /// doc text (the ABI's documentation of the hypercall)
/// CONST = NUMBER => Variant, fn_name {
///     manifest: "name" | none,          // what a manifest's `hypercalls=` calls it
///     policy: Always | Manifest | Fixture,
///     args: [name: Reg, ...],           // Reg a `Register` variant, in ABI order
///     results: [name: Rax, ...],        // RAX, then (GRANT) RDX and R10
/// }
/// ```
///
/// `CONST` is the number's constant in [`crate::hypercall`], `Variant` the
/// [`Hypercall`](crate::hypercall::Hypercall) variant, `fn_name` the SDK's raw wrapper
/// (`tessera_sdk::hypercall::raw::fn_name`). Numbers are dense from 0 in row order (a
/// compile-time check). A callback matches the rows with
///
/// ```
/// macro_rules! names {
///     ($(
///         $(#[doc = $doc:literal])*
///         $name:ident = $number:literal => $variant:ident, $fn:ident {
///             manifest: $manifest:tt,
///             policy: $policy:ident,
///             args: [$($arg:ident: $reg:ident),*],
///             results: [$($res:ident: $res_reg:ident),*],
///         }
///     )*) => {
///         const NAMES: &[&str] = &[$(stringify!($fn)),*];
///     };
/// }
/// tessera_abi::for_each_hypercall!(names);
/// assert_eq!(NAMES[1], "console_write");
/// ```
///
/// Adding a hypercall is one row here, one handler in the hypervisor (its `match` does
/// not compile until there is one) and its host test; docs/architecture.md.
#[macro_export]
macro_rules! for_each_hypercall {
    ($callback:ident) => {
        $callback! {
            /// Ends the calling compartment. RDI = exit code (i32).
            EXIT = 0 => Exit, exit {
                manifest: "exit",
                policy: Always,
                args: [code: Rdi],
                results: [result: Rax],
            }
            /// Writes RSI bytes at guest address RDI to the console. L1 prints whole lines,
            /// each prefixed with `[NAME] `, breaks lines only at `\n` (and after 1024
            /// bytes), and escapes every control character (C0 including ESC, CR, TAB and
            /// BS; DEL; C1 including U+0085), U+2028, U+2029, the bidirectional formatting
            /// characters and every byte of invalid UTF-8 (`\xHH`, `\u{h}`; a backslash
            /// becomes `\\`). At most
            /// [`CONSOLE_WRITE_MAX`](tessera_abi::hypercall::CONSOLE_WRITE_MAX) bytes per
            /// call (else TOO_LARGE). Returns the number of bytes taken;
            /// [`OVER_BUDGET`](tessera_abi::error::OVER_BUDGET) once the compartment's
            /// console budget is spent.
            CONSOLE_WRITE = 1 => ConsoleWrite, console_write {
                manifest: "console",
                policy: Manifest,
                args: [ptr: Rdi, len: Rsi],
                results: [written: Rax],
            }
            /// Reports a panic: RDI/RSI = message (UTF-8, at most
            /// [`CONSOLE_WRITE_MAX`](tessera_abi::hypercall::CONSOLE_WRITE_MAX) bytes,
            /// including the location). L1 prints its first 1024 bytes twice, each
            /// charged to the console budget: readable, as the compartment's console
            /// lines (escaped as all console output is; dropped when the budget cannot
            /// pay), and encoded, as `message=` of the `@@FAULT` line (left empty when
            /// the budget cannot pay). The compartment is stopped and reported as failed.
            PANIC = 2 => Panic, panic {
                manifest: "panic",
                policy: Always,
                args: [ptr: Rdi, len: Rsi],
                results: [result: Rax],
            }
            /// Returns the hypervisor's VM-exit counter of the calling vCPU: every VM exit
            /// of every compartment on that vCPU since boot (with one vCPU, every exit).
            /// **A side channel, kept on purpose**: the count spans compartments, so a
            /// compartment that reads it twice learns how many exits the others caused in
            /// between (for example whether a callee took a slow path that exits). The
            /// benchmarks need the global count (an emulated switch's exits happen in the
            /// other view); a compartment that must not observe this can be denied it
            /// (leave `exit_count` out of its manifest `hypercalls=`), and a
            /// secret-holding callee can avoid exits on paths that depend on its secret.
            /// docs/security-notes.md.
            EXIT_COUNT = 3 => ExitCount, exit_count {
                manifest: "exit_count",
                policy: Manifest,
                args: [],
                results: [exits: Rax],
            }
            /// Kept for compatibility; changes nothing. Exports come from the image's
            /// export table (docs/images.md), which L1 writes into the view's info page at
            /// load, before any code of the compartment runs; the SDK no longer makes this
            /// call. RDI/RSI = an export's name (UTF-8, at most 64 bytes, else TOO_LARGE),
            /// RDX = a function's address (in the caller's own image, executable in its
            /// view, else BAD_POINTER). Allowed only from the compartment's own `main`
            /// before it returns (else BAD_STATE). Returns the export's index (its position
            /// in the manifest's `exports=` list) if RDX is the address the export table
            /// gave that export, BAD_STATE for any other address (an export cannot be
            /// moved at run time), NO_SUCH_EXPORT if the manifest does not declare it
            /// (bytes that are not UTF-8 name nothing).
            REGISTER_EXPORT = 4 => RegisterExport, register_export {
                manifest: "register_export",
                policy: Manifest,
                args: [name_ptr: Rdi, name_len: Rsi, address: Rdx],
                results: [index: Rax],
            }
            /// Looks up an export: RDI/RSI = compartment name, RDX/R10 = export name (each
            /// at most 64 bytes, else TOO_LARGE). Returns `(view << 32) | index`, or
            /// NO_SUCH_EXPORT (no such compartment or export; bytes that are not UTF-8 name
            /// nothing) or NOT_PERMITTED (the manifest does not let the caller call that
            /// compartment).
            LOOKUP = 5 => Lookup, lookup {
                manifest: "lookup",
                policy: Manifest,
                args: [
                    compartment_ptr: Rdi,
                    compartment_len: Rsi,
                    export_ptr: Rdx,
                    export_len: R10
                ],
                results: [packed: Rax],
            }
            /// Looks up a shared-memory grant: RDI/RSI = grant name (at most 64 bytes, else
            /// TOO_LARGE). Returns its guest address, with RDX (output) = its size in bytes
            /// and R10 (output) = 1 if it is writable, 0 if read-only. NO_SUCH_GRANT if the
            /// caller's view is not granted it (or the name is not UTF-8).
            GRANT = 6 => Grant, grant {
                manifest: "grant",
                policy: Manifest,
                args: [name_ptr: Rdi, name_len: Rsi],
                results: [address: Rax, size: Rdx, writable: R10],
            }
            /// Gate code only: RSI = [`violation`](tessera_abi::gate::violation) reason — a
            /// reply nobody waits for (the hypervisor decides whom to resume; nobody is
            /// stopped on it), or the calling view's own state page is corrupt (it is
            /// stopped). No culprit is named: the caller is the view the CPU was in. Never
            /// returns.
            GATE_VIOLATION = 7 => GateViolation, gate_violation {
                manifest: none,
                policy: Always,
                args: [reason: Rsi],
                results: [result: Rax],
            }
            /// Test fixture only (kernel argument `conformance=1`, compartment
            /// `conformance`): runs case RDI of the boot's `cases` module
            /// (docs/conformance.md) and prints how it ended, `@@VMFUNC case=..
            /// outcome=..`; returns 0 afterwards with the caller's other registers as they
            /// were, or BAD_STATE when there is no case RDI. NOT_PERMITTED outside the
            /// fixture.
            CONFORMANCE_REPORT = 8 => ConformanceReport, conformance_report {
                manifest: none,
                policy: Fixture,
                args: [case: Rdi],
                results: [result: Rax],
            }
            /// Emits one machine-readable line: RDI/RSI = `WORD rest` (printable ASCII and
            /// spaces, at most [`REPORT_MAX`](tessera_abi::hypercall::REPORT_MAX) bytes,
            /// else TOO_LARGE), WORD one of
            /// [`REPORT_WORDS`](tessera_abi::hypercall::REPORT_WORDS), so a compartment can
            /// report results without being able to forge any other `@@` line, or anyone's
            /// identity:
            /// - `ROUNDTRIPS`, `CALL`: rest is space-separated `key=value` tokens (key from
            ///   `A-Z a-z 0-9 _ . -`, each key once); L1 prints `@@WORD compartment=NAME
            ///   rest`.
            /// - `BENCH`: rest is one JSON object (nested at most 8 deep, member names
            ///   without escapes, each top-level name once); L1 prints `@@BENCH {json}`
            ///   with `"compartment":"NAME"` added as its first member.
            ///
            /// NAME is the calling view's compartment. Returns 0, or
            /// [`NO_SUCH_WORD`](tessera_abi::error::NO_SUCH_WORD) if WORD is not one of
            /// `REPORT_WORDS` (a compartment's own lines are APP_REPORT's `@@APP`),
            /// [`IDENTITY_KEY`](tessera_abi::error::IDENTITY_KEY) if a key or member name
            /// is one of [`IDENTITY_KEYS`](tessera_abi::transcript::IDENTITY_KEYS),
            /// [`BAD_REPORT`](tessera_abi::error::BAD_REPORT) for anything else out of
            /// format, BAD_POINTER, or [`OVER_BUDGET`](tessera_abi::error::OVER_BUDGET)
            /// (the line counts against the console budget).
            REPORT = 9 => Report, report {
                manifest: "report",
                policy: Manifest,
                args: [ptr: Rdi, len: Rsi],
                results: [result: Rax],
            }
            /// Test/benchmark fixture only (kernel argument `conformance=1`): the
            /// hypervisor loads EPTP-list entry RDI (what a design without VMFUNC does on
            /// every switch). Returns 0, or NOT_PERMITTED outside the fixture, BAD_STATE
            /// for an invalid entry.
            SWITCH_VIEW = 10 => SwitchView, switch_view {
                manifest: none,
                policy: Fixture,
                args: [slot: Rdi],
                results: [result: Rax],
            }
            /// Emits the compartment's own machine-readable line, `@@APP compartment=NAME
            /// key=value ...`: RDI/RSI = its pairs (at most
            /// [`REPORT_MAX`](tessera_abi::hypercall::REPORT_MAX) bytes, else TOO_LARGE),
            /// each a key length (1 byte), the key, a value length (2 bytes,
            /// little-endian) and the value ([`app`](tessera_abi::hypercall::app)). A key
            /// is 1 to [`KEY_MAX`](tessera_abi::hypercall::app::KEY_MAX) bytes of `a-z 0-9
            /// _ .`, each key once; a value is any UTF-8 text. L1 prints the pairs in
            /// order after `compartment=NAME` (NAME the calling view's compartment), each
            /// value escaped as every `@@` text value is (`%XX` for `%`, `=`, whitespace and
            /// every byte that is not printable ASCII). Returns 0, or
            /// [`IDENTITY_KEY`](tessera_abi::error::IDENTITY_KEY) if a key is one of
            /// [`IDENTITY_KEYS`](tessera_abi::transcript::IDENTITY_KEYS),
            /// [`BAD_REPORT`](tessera_abi::error::BAD_REPORT) for anything else out of
            /// format, BAD_POINTER, or [`OVER_BUDGET`](tessera_abi::error::OVER_BUDGET)
            /// (the line counts against the console budget, as REPORT's do).
            APP_REPORT = 11 => AppReport, app_report {
                manifest: "app_report",
                policy: Manifest,
                args: [ptr: Rdi, len: Rsi],
                results: [result: Rax],
            }
            /// Reports that the compartment's heap cannot satisfy an allocation: RDI =
            /// the requested size, RSI = its alignment (both as the allocator was asked,
            /// bytes). L1 stops the compartment with `@@FAULT compartment=NAME
            /// kind=out-of-memory size=N align=N heap=N rip=..` (`heap` = the bytes its
            /// manifest `heap=` gave it) and reports it as failed, as PANIC does. The
            /// SDK's global allocator makes it instead of returning null. Never returns.
            OUT_OF_MEMORY = 12 => OutOfMemory, out_of_memory {
                manifest: "out_of_memory",
                policy: Always,
                args: [size: Rdi, align: Rsi],
                results: [result: Rax],
            }
        }
    };
}
