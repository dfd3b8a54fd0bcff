//! One `unsafe fn` per hypercall, generated from the ABI's table
//! ([`tessera_abi::for_each_hypercall!`]): named after the row (`console_write` for
//! CONSOLE_WRITE), with the row's argument names and documentation. Each puts its
//! arguments in the registers the row names (the others are 0) and makes the call
//! through [`hypercall`](super::hypercall), or [`hypercall3`](super::hypercall3) for a
//! row that also returns RDX and R10 (GRANT): it executes no `VMCALL` of its own.
//!
//! The safe wrappers of the SDK ([`crate::console`], [`crate::report!`], [`crate::grant()`],
//! …) call these; a compartment that wants the raw ABI can too.

use tessera_abi::hypercall::Register;

/// `register`'s position among the argument registers (evaluated at compile time: the
/// table's compile-time checks already keep RAX out of the arguments).
const fn slot(register: Register) -> usize {
    match register.argument_slot() {
        Some(slot) => slot,
        None => panic!("not an argument register"),
    }
}

/// The six argument registers' values, in ABI order, from `(slot, value)` pairs.
#[inline(always)]
const fn place<const N: usize>(args: [(usize, u64); N]) -> [u64; 6] {
    let mut registers = [0; 6];
    let mut i = 0;
    while i < N {
        registers[args[i].0] = args[i].1;
        i += 1;
    }
    registers
}

/// One wrapper: its doc is the table's, then what it returns and its safety contract.
macro_rules! raw_wrapper {
    (@doc [$($doc:literal)*] $name:ident, $returns:expr) => {
        concat!(
            $($doc, "\n",)*
            "\n",
            "Hypercall [`", stringify!($name), "`](tessera_abi::hypercall::", stringify!($name),
            "). Returns ", $returns, ".\n\n",
            "# Safety\n\n",
            "As for [`hypercall`](super::hypercall): every pointer argument must be valid for ",
            "the whole length the hypercall reads until it returns.",
        )
    };
    ([$($doc:literal)*] $name:ident $fn:ident [$($arg:ident: $reg:ident),*] [$rax:ident: Rax]) => {
        #[doc = raw_wrapper!(@doc [$($doc)*] $name, concat!("RAX (`", stringify!($rax), "`)"))]
        #[inline]
        pub unsafe fn $fn($($arg: u64),*) -> i64 {
            let a = place([$((const { slot(Register::$reg) }, $arg)),*]);
            // SAFETY: the caller upholds `hypercall`'s contract for this number's arguments.
            unsafe { super::hypercall(tessera_abi::hypercall::$name, a[0], a[1], a[2], a[3], a[4], a[5]) }
        }
    };
    (
        [$($doc:literal)*] $name:ident $fn:ident [$($arg:ident: $reg:ident),*]
        [$rax:ident: Rax, $rdx:ident: Rdx, $r10:ident: R10]
    ) => {
        #[doc = raw_wrapper!(
            @doc [$($doc)*] $name,
            concat!(
                "`(RAX, RDX, R10)` = `(", stringify!($rax), ", ", stringify!($rdx), ", ",
                stringify!($r10), ")`"
            )
        )]
        #[inline]
        pub unsafe fn $fn($($arg: u64),*) -> (i64, u64, u64) {
            let a = place([$((const { slot(Register::$reg) }, $arg)),*]);
            // SAFETY: the caller upholds `hypercall3`'s contract for this number's arguments.
            unsafe { super::hypercall3(tessera_abi::hypercall::$name, a[0], a[1], a[2], a[3], a[4], a[5]) }
        }
    };
}

/// The table's callback: one [`raw_wrapper!`] per row.
macro_rules! raw_wrappers {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident = $number:literal => $variant:ident, $fn:ident {
            manifest: $manifest:tt,
            policy: $policy:ident,
            args: [$($arg:ident: $reg:ident),*],
            results: [$($res:ident: $res_reg:ident),*],
        }
    )*) => {
        $(raw_wrapper! { [$($doc)*] $name $fn [$($arg: $reg),*] [$($res: $res_reg),*] })*
    };
}

tessera_abi::for_each_hypercall!(raw_wrappers);
