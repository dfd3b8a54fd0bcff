//! What can go wrong when building second-level page tables.

use core::fmt;

use super::{Level, MemoryType};

/// Why a permission set or memory type cannot be put in a leaf of a given format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PermsError {
    /// No access at all: that is an unmapped page, use `unmap`.
    NoAccess,
    /// Write without read: an EPT misconfiguration (SDM 3C "EPT Misconfigurations":
    /// bit 0 clear and bit 1 set), and not expressible in NPT either.
    WriteWithoutRead,
    /// Execute-only on a CPU without EPT execute-only support (SDM 3C "EPT
    /// Misconfigurations": bits 2:0 = 100b needs IA32_VMX_EPT_VPID_CAP bit 0).
    ExecuteOnlyUnsupported,
    /// NPT has no read permission: a present long-mode entry is always readable (AMD APM
    /// Vol. 2 "Nested Paging"), so a page without read access cannot be mapped.
    ReadNotOptional,
    /// The format cannot express this memory type (NPT selects a memory type through the
    /// host PAT, and only the types of the power-on PAT are used).
    MemoryTypeNotRepresentable(MemoryType),
}

impl fmt::Display for PermsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoAccess => f.write_str("no access rights (unmap the page instead)"),
            Self::WriteWithoutRead => f.write_str("write without read is not allowed"),
            Self::ExecuteOnlyUnsupported => {
                f.write_str("execute-only pages are not supported by this CPU")
            }
            Self::ReadNotOptional => {
                f.write_str("nested paging cannot map a page without read access")
            }
            Self::MemoryTypeNotRepresentable(mt) => {
                write!(f, "memory type {mt:?} cannot be expressed in this format")
            }
        }
    }
}

impl core::error::Error for PermsError {}

/// Errors of the page-table builder. Every variant names the address it is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PagingError {
    /// The physical-address width is outside 32..=52.
    InvalidMaxPhyAddr {
        /// The width given.
        bits: u8,
    },
    /// A guest-physical address is not aligned to the page size or to 4 KiB.
    MisalignedGpa {
        /// The address.
        gpa: u64,
        /// The alignment it needs.
        align: u64,
    },
    /// A host-physical address is not aligned to the page size or to 4 KiB.
    MisalignedHpa {
        /// The address.
        hpa: u64,
        /// The alignment it needs.
        align: u64,
    },
    /// A length is not a multiple of 4 KiB.
    MisalignedLength {
        /// The length.
        len: u64,
    },
    /// A guest-physical range reaches at or above 2^bits (the smaller of MAXPHYADDR and
    /// the 48 bits a 4-level walk translates).
    GpaOutOfRange {
        /// The first address of the range.
        gpa: u64,
        /// The length of the range (a page size for a single page).
        len: u64,
        /// The address width the range must stay below.
        bits: u8,
    },
    /// A host-physical range reaches at or above 2^MAXPHYADDR (setting such bits in an
    /// entry is a reserved-bit misconfiguration, SDM 3C "EPT Misconfigurations").
    HpaOutOfRange {
        /// The first address of the range.
        hpa: u64,
        /// The length of the range.
        len: u64,
        /// MAXPHYADDR.
        bits: u8,
    },
    /// The page at this GPA is already mapped; mappings never silently replace others.
    AlreadyMapped {
        /// The first mapped GPA in the requested range.
        gpa: u64,
    },
    /// The operation needs a mapping and this GPA has none.
    NotMapped {
        /// The first unmapped GPA in the requested range.
        gpa: u64,
    },
    /// The permissions or memory type cannot be expressed for the mapping at `gpa`.
    Perms {
        /// The GPA of the mapping.
        gpa: u64,
        /// What is wrong.
        error: PermsError,
    },
    /// `TableMemory::alloc_table` had no frame left.
    OutOfTables,
    /// `TableMemory::alloc_table` returned an address that is misaligned or beyond
    /// MAXPHYADDR.
    BadTableAddress {
        /// The address it returned.
        table: u64,
    },
    /// A table holds an entry this builder never writes (reserved memory type, a 1 GiB
    /// page, an NPT entry with U/S = 0, ...): the tables were modified behind its back.
    CorruptEntry {
        /// A GPA whose walk reads the entry.
        gpa: u64,
        /// The level of the table holding it.
        level: Level,
        /// The raw entry.
        entry: u64,
    },
}

impl fmt::Display for PagingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::InvalidMaxPhyAddr { bits } => {
                write!(f, "physical-address width {bits} is outside 32..=52")
            }
            Self::MisalignedGpa { gpa, align } => {
                write!(f, "GPA {gpa:#x} is not aligned to {align:#x}")
            }
            Self::MisalignedHpa { hpa, align } => {
                write!(f, "HPA {hpa:#x} is not aligned to {align:#x}")
            }
            Self::MisalignedLength { len } => {
                write!(f, "length {len:#x} is not a multiple of 4 KiB")
            }
            Self::GpaOutOfRange { gpa, len, bits } => {
                write!(f, "GPA range {gpa:#x}+{len:#x} reaches beyond {bits} bits")
            }
            Self::HpaOutOfRange { hpa, len, bits } => {
                write!(
                    f,
                    "HPA range {hpa:#x}+{len:#x} reaches beyond MAXPHYADDR {bits}"
                )
            }
            Self::AlreadyMapped { gpa } => write!(f, "GPA {gpa:#x} is already mapped"),
            Self::NotMapped { gpa } => write!(f, "GPA {gpa:#x} is not mapped"),
            Self::Perms { gpa, error } => write!(f, "mapping at GPA {gpa:#x}: {error}"),
            Self::OutOfTables => f.write_str("no free frame for a page table"),
            Self::BadTableAddress { table } => {
                write!(f, "table allocator returned unusable address {table:#x}")
            }
            Self::CorruptEntry { gpa, level, entry } => write!(
                f,
                "corrupt {level:?} entry {entry:#x} on the walk of GPA {gpa:#x}"
            ),
        }
    }
}

impl core::error::Error for PagingError {}
