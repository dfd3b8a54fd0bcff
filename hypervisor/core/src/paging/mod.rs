//! Second-level page tables: a 4-level builder shared by Intel EPT and AMD NPT.
//!
//! A [`PageTable`] maps guest-physical addresses (GPA) to host-physical addresses (HPA)
//! with 4 KiB and 2 MiB pages. It owns no memory: every table lives in frames handed out
//! by a [`TableMemory`], which the kernel implements over real frames and tests implement
//! over a map ([`SimTables`]). The bit layout of an entry is an [`EntryFormat`]:
//!
//! - [`Ept`] — Intel SDM Vol. 3C, "EPT Translation Mechanism" and "Format of the EPT
//!   PML4/PDPTE/PDE/PTE" tables: R/W/X in bits 2:0, memory type in bits 5:3 of a leaf.
//! - [`Npt`] — AMD APM Vol. 2, "Nested Paging": the nested page table uses the ordinary
//!   long-mode page-table format, and every entry must have U/S = 1 because the nested
//!   walk treats every access as a user access.
//!
//! The EPT pointer itself (and the VM-entry checks the CPU applies to it, which VMFUNC
//! also applies to every EPTP-list entry) is in [`eptp`].
//!
//! A 4-level walk translates GPA bits 47:0; 1 GiB pages are never created, and a PDPTE
//! with the page-size bit set is reported as a corrupt entry.

mod ept;
pub mod eptp;
mod error;
mod fork;
mod format;
mod npt;
mod range;
mod sim;
mod table;
#[cfg(test)]
mod tests;
mod walk;

pub use ept::{Ept, EptFlags};
pub use eptp::{Eptp, EptpError, EptpFlags, EptpRules, validate_eptp};
pub use error::{PagingError, PermsError};
pub use format::{EntryFormat, Leaf, Level, Slot};
pub use npt::Npt;
pub use sim::SimTables;
pub use table::PageTable;
pub use walk::Mapping;

/// Entries per table at every level (a 4 KiB table of 8-byte entries).
pub const ENTRIES_PER_TABLE: usize = 512;
/// Size of one paging-structure table.
pub const TABLE_SIZE: u64 = 4096;
/// The highest physical-address width x86-64 defines (SDM Vol. 3A, CPUID 80000008H).
pub const MAX_PHYS_ADDR_BITS: u8 = 52;
/// The lowest physical-address width this builder accepts. Every x86-64 CPU reports at
/// least 36; 32 leaves room for small emulator configurations.
pub const MIN_PHYS_ADDR_BITS: u8 = 32;
/// GPA bits a 4-level walk translates (SDM 3C "EPT Translation Mechanism": bits 47:0).
pub const GPA_BITS: u8 = 48;

/// Where the kernel gets table frames. The builder never touches memory except through
/// this trait.
pub trait TableMemory {
    /// Returns the host-physical address of a fresh, zeroed, 4 KiB-aligned table.
    ///
    /// # Errors
    /// [`PagingError::OutOfTables`] (or any other variant that explains the failure) when
    /// no frame is available.
    fn alloc_table(&mut self) -> Result<u64, PagingError>;

    /// Reads entry `index` (0..512) of the table at host-physical address `table`.
    fn read_entry(&self, table: u64, index: usize) -> u64;

    /// Writes entry `index` (0..512) of the table at host-physical address `table`.
    fn write_entry(&mut self, table: u64, index: usize, value: u64);

    /// Gives back a table the builder no longer references (it replaced an empty page
    /// table with a 2 MiB page). The default keeps the frame allocated.
    fn free_table(&mut self, table: u64) {
        let _ = table;
    }
}

/// The page sizes the builder creates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PageSize {
    /// 4 KiB, mapped by a page-table entry (PTE).
    Size4K,
    /// 2 MiB, mapped by a page-directory entry with the page-size bit (bit 7) set.
    Size2M,
}

impl PageSize {
    /// The page size in bytes.
    #[must_use]
    pub const fn bytes(self) -> u64 {
        match self {
            Self::Size4K => 1 << 12,
            Self::Size2M => 1 << 21,
        }
    }

    /// Mask of the offset bits within a page of this size.
    #[must_use]
    pub const fn offset_mask(self) -> u64 {
        self.bytes() - 1
    }
}

/// Access rights of a mapping, as seen by the guest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Perms {
    /// Data reads allowed.
    pub read: bool,
    /// Data writes allowed.
    pub write: bool,
    /// Instruction fetches allowed (supervisor-mode fetches for EPT: L2 runs at CPL0).
    pub execute: bool,
}

impl Perms {
    /// No access at all (not mappable: use `unmap`).
    pub const NONE: Self = Self::new(false, false, false);
    /// Read-only data.
    pub const R: Self = Self::new(true, false, false);
    /// Read-write data.
    pub const RW: Self = Self::new(true, true, false);
    /// Code.
    pub const RX: Self = Self::new(true, false, true);
    /// Everything.
    pub const RWX: Self = Self::new(true, true, true);
    /// Execute-only (EPT only, where IA32_VMX_EPT_VPID_CAP bit 0 allows it).
    pub const X: Self = Self::new(false, false, true);

    /// Builds a permission set.
    #[must_use]
    pub const fn new(read: bool, write: bool, execute: bool) -> Self {
        Self {
            read,
            write,
            execute,
        }
    }
}

/// Memory types a leaf can carry (SDM 3C "EPT and Memory Typing"; encodings are the EPT
/// and PAT ones: UC 0, WC 1, WT 4, WP 5, WB 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemoryType {
    /// Uncacheable (0).
    Uncacheable,
    /// Write-combining (1).
    WriteCombining,
    /// Write-through (4).
    WriteThrough,
    /// Write-protected (5).
    WriteProtected,
    /// Write-back (6): ordinary RAM.
    WriteBack,
}

impl MemoryType {
    /// The architectural encoding (EPT bits 5:3, EPTP bits 2:0, PAT entries).
    #[must_use]
    pub const fn bits(self) -> u8 {
        match self {
            Self::Uncacheable => 0,
            Self::WriteCombining => 1,
            Self::WriteThrough => 4,
            Self::WriteProtected => 5,
            Self::WriteBack => 6,
        }
    }

    /// Decodes an architectural encoding; 2, 3 and 7 are reserved (an EPT leaf with them
    /// causes an EPT misconfiguration, SDM 3C "EPT Misconfigurations").
    #[must_use]
    pub const fn from_bits(bits: u8) -> Option<Self> {
        match bits {
            0 => Some(Self::Uncacheable),
            1 => Some(Self::WriteCombining),
            4 => Some(Self::WriteThrough),
            5 => Some(Self::WriteProtected),
            6 => Some(Self::WriteBack),
            _ => None,
        }
    }
}

/// Where a guest-physical address leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Translation {
    /// The host-physical address the GPA translates to (page base plus the GPA's offset
    /// within the page).
    pub hpa: u64,
    /// The page's access rights.
    pub perms: Perms,
    /// The size of the page that maps the GPA.
    pub size: PageSize,
    /// The page's memory type.
    pub memory_type: MemoryType,
}
