//! The hypercalls a manifest can name. The table in [`tessera_abi::hypercall`] decides
//! which (the rows with a manifest name, `tessera_abi::hypercall::Hypercall::MANIFEST`),
//! what a compartment's [`HypercallSet`] allows ([`HypercallSet::allows`]) and what a
//! compartment line without `hypercalls=` gets ([`HypercallSet::GRANTABLE`]). The
//! manifest parses and writes names with the table's `from_manifest_name` and
//! `manifest_name`; [`Hypercall`] here is only the name-checking view of it that xtask's
//! declaration check reads.

use tessera_abi::hypercall::Hypercall as Call;
pub use tessera_abi::hypercall::HypercallSet;

/// A hypercall a manifest's `hypercalls=` can name: a row of the table that has a
/// manifest name (docs/manifest.md). No numbers or policy of its own: see [`Self::call`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hypercall(Call);

impl Hypercall {
    /// Every hypercall a manifest can name, in the order `to_text` writes them.
    pub const ALL: [Self; Call::MANIFEST.len()] = {
        let mut all = [Self(Call::Exit); Call::MANIFEST.len()];
        let mut i = 0;
        while i < all.len() {
            all[i] = Self(Call::MANIFEST[i]);
            i += 1;
        }
        all
    };

    /// Its name in the manifest.
    pub const fn name(self) -> &'static str {
        match self.0.manifest_name() {
            Some(name) => name,
            // Unreachable: every value comes from `Call::MANIFEST`, the named rows.
            None => "",
        }
    }

    /// The hypercall a manifest name stands for.
    pub fn from_name(name: &str) -> Option<Self> {
        Call::from_manifest_name(name).map(Self)
    }

    /// The table's hypercall.
    pub const fn call(self) -> Call {
        self.0
    }
}
