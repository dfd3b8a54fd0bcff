//! What the ABI generates from the table ([`crate::for_each_hypercall!`]): the number
//! constants, the [`Hypercall`](super::Hypercall) enum and its per-row accessors.

/// A row's `manifest:` column as an `Option`.
macro_rules! manifest_name {
    (none) => {
        None
    };
    ($name:literal) => {
        Some($name)
    };
}

/// The callback that turns the table into this module's items.
macro_rules! define_hypercalls {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident = $number:literal => $variant:ident, $fn:ident {
            manifest: $manifest:tt,
            policy: $policy:ident,
            args: [$($arg:ident: $reg:ident),*],
            results: [$($res:ident: $res_reg:ident),*],
        }
    )*) => {
        $(
            $(#[doc = $doc])*
            pub const $name: u64 = $number;
        )*

        /// How many hypercalls this ABI defines (rows of the table; numbers `0..COUNT`).
        pub const COUNT: usize = [$($name),*].len();

        /// A hypercall: one row of the table ([`crate::for_each_hypercall!`]). Its
        /// discriminant is its number. Exhaustive on purpose: a hypervisor that matches on
        /// it does not compile until it handles a new row.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(u64)]
        pub enum Hypercall {
            $(
                #[doc = concat!("[`", stringify!($name), "`]: number ", stringify!($number), ".")]
                $variant = $number,
            )*
        }

        impl Hypercall {
            /// Every hypercall, in number order.
            pub const ALL: [Self; COUNT] = [$(Self::$variant),*];

            /// The hypercall with number `number` (RAX), if the ABI defines one.
            pub const fn from_number(number: u64) -> Option<Self> {
                match number {
                    $($number => Some(Self::$variant),)*
                    _ => None,
                }
            }

            /// Its number's constant in [`crate::hypercall`], e.g. `"CONSOLE_WRITE"`.
            pub const fn const_name(self) -> &'static str {
                match self {
                    $(Self::$variant => stringify!($name),)*
                }
            }

            /// The name of the SDK's raw wrapper, `tessera_sdk::hypercall::raw::NAME`.
            pub const fn fn_name(self) -> &'static str {
                match self {
                    $(Self::$variant => stringify!($fn),)*
                }
            }

            /// What a manifest's `hypercalls=` calls it; `None` for a hypercall no manifest
            /// names (allowed always or only in a fixture, see [`Self::policy`]).
            pub const fn manifest_name(self) -> Option<&'static str> {
                match self {
                    $(Self::$variant => manifest_name!($manifest),)*
                }
            }

            /// Who may make it.
            pub const fn policy(self) -> Policy {
                match self {
                    $(Self::$variant => Policy::$policy,)*
                }
            }

            /// Its arguments, in ABI register order; registers not listed are ignored.
            pub const fn args(self) -> &'static [Operand] {
                match self {
                    $(Self::$variant => &[$(Operand { name: stringify!($arg), register: Register::$reg }),*],)*
                }
            }

            /// What it returns: RAX first (`>= 0`, or a negative [`crate::error`] code),
            /// then, for GRANT, RDX and R10.
            pub const fn results(self) -> &'static [Operand] {
                match self {
                    $(Self::$variant => &[$(Operand { name: stringify!($res), register: Register::$res_reg }),*],)*
                }
            }

            /// Its documentation as the table states it: one line per doc line, each as
            /// written after `///` (so usually with a leading space).
            pub const fn doc(self) -> &'static str {
                match self {
                    $(Self::$variant => concat!($($doc, "\n"),*),)*
                }
            }
        }
    };
}
