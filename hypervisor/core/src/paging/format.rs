//! The seam between the generic builder and a vendor's entry bit layout.

use super::{MemoryType, PageSize, Perms, PermsError};

/// Bits 51:12 of an entry: the address of a table or of a 4 KiB page. Bits above
/// MAXPHYADDR inside this range are reserved; the builder never sets them.
pub(super) const ADDR_MASK_4K: u64 = 0x000F_FFFF_FFFF_F000;
/// Bits 51:21 of an entry: the address of a 2 MiB page.
pub(super) const ADDR_MASK_2M: u64 = 0x000F_FFFF_FFE0_0000;

/// A level of the 4-level walk, named after the table it indexes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Level {
    /// Page-map level 4: GPA bits 47:39, each entry covers 512 GiB.
    Pml4,
    /// Page-directory-pointer table: GPA bits 38:30, each entry covers 1 GiB.
    Pdpt,
    /// Page directory: GPA bits 29:21, each entry covers 2 MiB (a table or a 2 MiB page).
    Pd,
    /// Page table: GPA bits 20:12, each entry maps a 4 KiB page.
    Pt,
}

impl Level {
    /// The lowest GPA bit this level's index uses.
    #[must_use]
    pub const fn shift(self) -> u32 {
        match self {
            Self::Pml4 => 39,
            Self::Pdpt => 30,
            Self::Pd => 21,
            Self::Pt => 12,
        }
    }

    /// Bytes of guest-physical space one entry at this level covers.
    #[must_use]
    pub const fn span(self) -> u64 {
        1 << self.shift()
    }

    /// The index of `gpa` in a table of this level (SDM 3C "EPT Translation Mechanism":
    /// 9 GPA bits per level).
    #[must_use]
    pub const fn index(self, gpa: u64) -> usize {
        // The mask keeps the value below 512, so the cast never truncates.
        ((gpa >> self.shift()) & 0x1FF) as usize
    }

    /// The level below this one, if any.
    #[must_use]
    pub const fn next(self) -> Option<Self> {
        match self {
            Self::Pml4 => Some(Self::Pdpt),
            Self::Pdpt => Some(Self::Pd),
            Self::Pd => Some(Self::Pt),
            Self::Pt => None,
        }
    }
}

/// A decoded leaf entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Leaf {
    /// Host-physical address of the page (aligned to the page size).
    pub hpa: u64,
    /// Access rights.
    pub perms: Perms,
    /// Memory type.
    pub memory_type: MemoryType,
}

/// What an entry holds, as far as this builder is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// Not present: nothing mapped below.
    Empty,
    /// A non-leaf entry granting full access, pointing at the next table.
    Table(u64),
    /// A page (4 KiB at the PT level, 2 MiB at the PD level).
    Leaf(Leaf),
    /// Present, but not something this builder writes: a 1 GiB page, a reserved memory
    /// type, a non-leaf entry restricting access, reserved bits set, ...
    Invalid,
}

/// Encodes and decodes the entries of one second-level paging format.
///
/// Non-leaf entries always grant every access, so the rights of a mapping are exactly
/// those of its leaf (EPT and NPT both combine the rights of all levels of a walk).
pub trait EntryFormat {
    /// Whether a leaf with these rights and this memory type can be expressed.
    ///
    /// # Errors
    /// The reason it cannot.
    fn check(&self, perms: Perms, memory_type: MemoryType) -> Result<(), PermsError>;

    /// A non-leaf entry pointing at the 4 KiB-aligned table `table`.
    fn encode_table(&self, table: u64) -> u64;

    /// A leaf mapping the page at `hpa` (aligned to `size`).
    ///
    /// # Errors
    /// What [`EntryFormat::check`] reports.
    fn encode_leaf(
        &self,
        hpa: u64,
        size: PageSize,
        perms: Perms,
        memory_type: MemoryType,
    ) -> Result<u64, PermsError>;

    /// Decodes an entry read from a table at `level`. A leaf is only valid at
    /// [`Level::Pd`] (2 MiB, page-size bit set) and [`Level::Pt`] (4 KiB).
    fn decode(&self, entry: u64, level: Level) -> Slot;
}
