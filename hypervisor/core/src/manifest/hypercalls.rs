//! The hypercalls a manifest can allow, by name, and the set a compartment may use.

use tessera_abi::hypercall as nr;

/// A hypercall a compartment's `hypercalls=` list can name (docs/manifest.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Hypercall {
    /// `exit`: [`tessera_abi::hypercall::EXIT`]; always allowed.
    Exit,
    /// `console`: [`tessera_abi::hypercall::CONSOLE_WRITE`].
    Console,
    /// `panic`: [`tessera_abi::hypercall::PANIC`]; always allowed.
    Panic,
    /// `exit_count`: [`tessera_abi::hypercall::EXIT_COUNT`].
    ExitCount,
    /// `register_export`: [`tessera_abi::hypercall::REGISTER_EXPORT`].
    RegisterExport,
    /// `lookup`: [`tessera_abi::hypercall::LOOKUP`].
    Lookup,
    /// `grant`: [`tessera_abi::hypercall::GRANT`].
    Grant,
    /// `report`: [`tessera_abi::hypercall::REPORT`].
    Report,
}

impl Hypercall {
    /// Every hypercall a manifest can name, in the order `to_text` writes them.
    pub const ALL: [Hypercall; 8] = [
        Self::Exit,
        Self::Console,
        Self::Panic,
        Self::ExitCount,
        Self::RegisterExport,
        Self::Lookup,
        Self::Grant,
        Self::Report,
    ];

    /// Its name in the manifest.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Exit => "exit",
            Self::Console => "console",
            Self::Panic => "panic",
            Self::ExitCount => "exit_count",
            Self::RegisterExport => "register_export",
            Self::Lookup => "lookup",
            Self::Grant => "grant",
            Self::Report => "report",
        }
    }

    /// The hypercall a manifest name stands for.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|h| h.name() == name)
    }

    /// Its number in RAX ([`tessera_abi::hypercall`]).
    pub const fn number(self) -> u64 {
        match self {
            Self::Exit => nr::EXIT,
            Self::Console => nr::CONSOLE_WRITE,
            Self::Panic => nr::PANIC,
            Self::ExitCount => nr::EXIT_COUNT,
            Self::RegisterExport => nr::REGISTER_EXPORT,
            Self::Lookup => nr::LOOKUP,
            Self::Grant => nr::GRANT,
            Self::Report => nr::REPORT,
        }
    }

    /// The manifest hypercall with number `number`. `None` for numbers no manifest names
    /// (including [`tessera_abi::hypercall::GATE_VIOLATION`], which is always allowed).
    pub fn from_number(number: u64) -> Option<Self> {
        Self::ALL.into_iter().find(|h| h.number() == number)
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// The hypercalls one compartment may use. `exit` and `panic` are always in it (a
/// compartment can always end), so no value of this type can lack them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HypercallSet {
    bits: u8,
}

impl HypercallSet {
    /// Only `exit` and `panic`.
    pub const MINIMAL: Self = Self {
        bits: Hypercall::Exit.bit() | Hypercall::Panic.bit(),
    };

    /// Every hypercall (the default when a compartment line has no `hypercalls=`).
    pub const ALL: Self = Self {
        bits: u8::MAX >> (8 - Hypercall::ALL.len()),
    };

    /// This set plus `call`.
    #[must_use]
    pub const fn with(self, call: Hypercall) -> Self {
        Self {
            bits: self.bits | call.bit(),
        }
    }

    /// Whether `call` is in the set.
    pub const fn contains(self, call: Hypercall) -> bool {
        self.bits & call.bit() != 0
    }

    /// Whether a compartment with this set may make hypercall number `number`:
    /// `GATE_VIOLATION` always, numbers no manifest names never.
    pub fn allows(self, number: u64) -> bool {
        number == nr::GATE_VIOLATION
            || Hypercall::from_number(number).is_some_and(|h| self.contains(h))
    }

    /// The members, in [`Hypercall::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Hypercall> {
        Hypercall::ALL
            .into_iter()
            .filter(move |h| self.contains(*h))
    }
}

impl Default for HypercallSet {
    fn default() -> Self {
        Self::ALL
    }
}

impl FromIterator<Hypercall> for HypercallSet {
    /// The given hypercalls plus `exit` and `panic`.
    fn from_iter<I: IntoIterator<Item = Hypercall>>(iter: I) -> Self {
        iter.into_iter().fold(Self::MINIMAL, Self::with)
    }
}
