//! [`HypercallSet`]: a set of hypercalls, one bit per number.

use super::{COUNT, Hypercall, Policy};
use core::fmt;

// One bit per row: a table that outgrows the word fails here, at compile time (widen
// `bits` to u128 then).
const _: () = assert!(
    COUNT <= u64::BITS as usize,
    "HypercallSet holds 64 hypercalls"
);

/// A set of hypercalls, e.g. the ones a compartment's manifest entry allows. Any row of
/// the table fits, so a new hypercall never needs a wider type until there are 64.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct HypercallSet {
    bits: u64,
}

/// The set of every hypercall with policy `policy`.
const fn every(policy: Policy) -> HypercallSet {
    let mut set = HypercallSet::EMPTY;
    let mut i = 0;
    while i < COUNT {
        if Hypercall::ALL[i].policy() as u8 == policy as u8 {
            set = set.with(Hypercall::ALL[i]);
        }
        i += 1;
    }
    set
}

impl HypercallSet {
    /// No hypercall.
    pub const EMPTY: Self = Self { bits: 0 };

    /// Every hypercall of the table.
    pub const ALL: Self = every(Policy::Always)
        .union(every(Policy::Manifest))
        .union(every(Policy::Fixture));

    /// The hypercalls every compartment may make ([`Policy::Always`]): what a manifest
    /// entry allows at the least.
    pub const MINIMAL: Self = every(Policy::Always);

    /// Every hypercall a manifest can allow (all but [`Policy::Fixture`]): what a
    /// manifest entry without `hypercalls=` allows.
    pub const GRANTABLE: Self = every(Policy::Always).union(every(Policy::Manifest));

    const fn bit(call: Hypercall) -> u64 {
        1 << call.number()
    }

    /// This set plus `call`.
    #[must_use]
    pub const fn with(self, call: Hypercall) -> Self {
        Self {
            bits: self.bits | Self::bit(call),
        }
    }

    /// This set without `call`.
    #[must_use]
    pub const fn without(self, call: Hypercall) -> Self {
        Self {
            bits: self.bits & !Self::bit(call),
        }
    }

    /// Whether `call` is in the set.
    pub const fn contains(self, call: Hypercall) -> bool {
        self.bits & Self::bit(call) != 0
    }

    /// The hypercalls in either set.
    #[must_use]
    pub const fn union(self, other: Self) -> Self {
        Self {
            bits: self.bits | other.bits,
        }
    }

    /// The hypercalls in both sets.
    #[must_use]
    pub const fn intersection(self, other: Self) -> Self {
        Self {
            bits: self.bits & other.bits,
        }
    }

    /// The hypercalls in this set and not in `other`.
    #[must_use]
    pub const fn difference(self, other: Self) -> Self {
        Self {
            bits: self.bits & !other.bits,
        }
    }

    /// Whether every member is also in `other`.
    pub const fn is_subset(self, other: Self) -> bool {
        self.bits & !other.bits == 0
    }

    /// Whether the set has no member.
    pub const fn is_empty(self) -> bool {
        self.bits == 0
    }

    /// How many members.
    pub const fn len(self) -> usize {
        self.bits.count_ones() as usize
    }

    /// The members, in number order.
    pub fn iter(self) -> impl Iterator<Item = Hypercall> {
        Hypercall::ALL
            .into_iter()
            .filter(move |h| self.contains(*h))
    }

    /// Whether a compartment whose manifest entry allows this set may make `call`:
    /// [`Policy::Always`] hypercalls always, [`Policy::Fixture`] ones never (a fixture
    /// answers them before this question is asked), the others if they are members.
    pub const fn allows(self, call: Hypercall) -> bool {
        match call.policy() {
            Policy::Always => true,
            Policy::Fixture => false,
            Policy::Manifest => self.contains(call),
        }
    }
}

impl FromIterator<Hypercall> for HypercallSet {
    fn from_iter<I: IntoIterator<Item = Hypercall>>(iter: I) -> Self {
        iter.into_iter().fold(Self::EMPTY, Self::with)
    }
}

impl Extend<Hypercall> for HypercallSet {
    fn extend<I: IntoIterator<Item = Hypercall>>(&mut self, iter: I) {
        *self = iter.into_iter().fold(*self, Self::with);
    }
}

impl fmt::Debug for HypercallSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}
