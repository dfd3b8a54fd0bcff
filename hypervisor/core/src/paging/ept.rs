//! Intel EPT entries (SDM Vol. 3C, "EPT Translation Mechanism" and the tables "Format of
//! an EPT PML4 Entry", "... PDPTE ...", "... PDE ...", "... Page-Table Entry").
//!
//! Every EPT entry: bit 0 read, bit 1 write, bit 2 execute (supervisor-mode execute when
//! mode-based execute control is on; L2 runs at CPL0, so bit 2 is the one that counts),
//! bits 7:3 reserved in non-leaf entries, bits 8/9 accessed/dirty (set by the CPU when
//! the EPTP enables A/D), address in bits (MAXPHYADDR-1):12. An entry is not present
//! when bits 2:0 are all 0. In a leaf, bits 5:3 hold the memory type and bit 6 is
//! "ignore PAT" (left 0: the guest PAT is combined with the EPT type); in a PDE, bit 7
//! set means the entry maps a 2 MiB page and bits 20:12 are reserved.

use bitflags::bitflags;

use super::format::{ADDR_MASK_2M, ADDR_MASK_4K};
use super::{EntryFormat, Leaf, Level, MemoryType, PageSize, Perms, PermsError, Slot};

bitflags! {
    /// The flag bits of an EPT paging-structure entry (SDM 3C, "Format of an EPT PML4
    /// Entry" and the PDPTE/PDE/PTE tables). The address bits (51:12) are not flags: an
    /// entry read from a table keeps them through [`EptFlags::from_bits_retain`].
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct EptFlags: u64 {
        /// Bit 0: reads allowed.
        const READ = 1 << 0;
        /// Bit 1: writes allowed.
        const WRITE = 1 << 1;
        /// Bit 2: instruction fetches allowed (supervisor-mode fetches with mode-based
        /// execute control).
        const EXECUTE = 1 << 2;
        /// Bits 5:3 of a leaf: the EPT memory type (a 3-bit field, not a flag); reserved
        /// in a non-leaf entry.
        const MEMORY_TYPE = 0b111 << 3;
        /// Bit 6 of a leaf: ignore the guest PAT memory type; reserved in a non-leaf entry.
        const IGNORE_PAT = 1 << 6;
        /// Bit 7 of a PDE or PDPTE: the entry maps a page (2 MiB or 1 GiB).
        const PAGE_SIZE = 1 << 7;
        /// Bit 8: accessed (set by the CPU when the EPTP enables A/D flags).
        const ACCESSED = 1 << 8;
        /// Bit 9 of a leaf: dirty (likewise).
        const DIRTY = 1 << 9;
    }
}

const RWX: EptFlags = EptFlags::READ
    .union(EptFlags::WRITE)
    .union(EptFlags::EXECUTE);
const MEMORY_TYPE_SHIFT: u32 = EptFlags::MEMORY_TYPE.bits().trailing_zeros();
/// Bits 7:3 of a non-leaf entry: reserved (must be 0).
const NON_LEAF_RESERVED: EptFlags = EptFlags::MEMORY_TYPE
    .union(EptFlags::IGNORE_PAT)
    .union(EptFlags::PAGE_SIZE);
/// Bits 20:12 of a 2 MiB PDE: reserved (must be 0). Address bits, not flags.
const LARGE_RESERVED: u64 = ADDR_MASK_4K & !ADDR_MASK_2M;

impl EptFlags {
    /// The memory-type field holding `memory_type`.
    const fn memory_type(memory_type: MemoryType) -> Self {
        Self::from_bits_retain((memory_type.bits() as u64) << MEMORY_TYPE_SHIFT)
    }

    /// The value of the memory-type field (bits 5:3).
    const fn memory_type_bits(self) -> u8 {
        // The field is 3 bits wide, so the cast never truncates.
        (self.intersection(Self::MEMORY_TYPE).bits() >> MEMORY_TYPE_SHIFT) as u8
    }
}

/// The EPT entry format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ept {
    /// The CPU supports execute-only translations (IA32_VMX_EPT_VPID_CAP bit 0). Without
    /// it, an entry with bits 2:0 = 100b is an EPT misconfiguration (SDM 3C "EPT
    /// Misconfigurations").
    pub execute_only: bool,
}

impl Ept {
    /// The EPT format for a CPU with or without execute-only support.
    #[must_use]
    pub const fn new(execute_only: bool) -> Self {
        Self { execute_only }
    }

    fn perms_flags(perms: Perms) -> EptFlags {
        let mut flags = EptFlags::empty();
        flags.set(EptFlags::READ, perms.read);
        flags.set(EptFlags::WRITE, perms.write);
        flags.set(EptFlags::EXECUTE, perms.execute);
        flags
    }

    fn decode_leaf(&self, entry: u64, size: PageSize) -> Slot {
        let flags = EptFlags::from_bits_retain(entry);
        let perms = Perms::new(
            flags.contains(EptFlags::READ),
            flags.contains(EptFlags::WRITE),
            flags.contains(EptFlags::EXECUTE),
        );
        let memory_type = MemoryType::from_bits(flags.memory_type_bits());
        let (Some(memory_type), Ok(())) = (memory_type, self.check_perms(perms)) else {
            return Slot::Invalid;
        };
        let hpa = match size {
            PageSize::Size4K => entry & ADDR_MASK_4K,
            PageSize::Size2M if entry & LARGE_RESERVED != 0 => return Slot::Invalid,
            PageSize::Size2M => entry & ADDR_MASK_2M,
        };
        Slot::Leaf(Leaf {
            hpa,
            perms,
            memory_type,
        })
    }

    fn check_perms(&self, perms: Perms) -> Result<(), PermsError> {
        match (perms.read, perms.write, perms.execute) {
            (false, false, false) => Err(PermsError::NoAccess),
            // SDM 3C "EPT Misconfigurations": bit 0 clear and bit 1 set.
            (false, true, _) => Err(PermsError::WriteWithoutRead),
            (false, false, true) if !self.execute_only => Err(PermsError::ExecuteOnlyUnsupported),
            _ => Ok(()),
        }
    }
}

impl EntryFormat for Ept {
    fn check(&self, perms: Perms, _memory_type: MemoryType) -> Result<(), PermsError> {
        // All five memory types are valid EPT leaf types (SDM 3C "EPT and Memory Typing").
        self.check_perms(perms)
    }

    fn encode_table(&self, table: u64) -> u64 {
        // Non-leaf entries grant R+W+X: the rights of a walk are the AND of all levels,
        // so the leaf alone decides.
        (table & ADDR_MASK_4K) | RWX.bits()
    }

    fn encode_leaf(
        &self,
        hpa: u64,
        size: PageSize,
        perms: Perms,
        memory_type: MemoryType,
    ) -> Result<u64, PermsError> {
        self.check(perms, memory_type)?;
        let flags = Self::perms_flags(perms) | EptFlags::memory_type(memory_type);
        Ok(match size {
            PageSize::Size4K => flags.bits() | (hpa & ADDR_MASK_4K),
            PageSize::Size2M => (flags | EptFlags::PAGE_SIZE).bits() | (hpa & ADDR_MASK_2M),
        })
    }

    fn decode(&self, entry: u64, level: Level) -> Slot {
        // The one edge where a raw entry read from a table becomes flags.
        let flags = EptFlags::from_bits_retain(entry);
        if !flags.intersects(RWX) {
            return Slot::Empty;
        }
        match level {
            Level::Pt => self.decode_leaf(entry, PageSize::Size4K),
            Level::Pd if flags.contains(EptFlags::PAGE_SIZE) => {
                self.decode_leaf(entry, PageSize::Size2M)
            }
            // 1 GiB pages (PDPTE bit 7) are never created; bit 7 of a PML4E is reserved.
            Level::Pml4 | Level::Pdpt | Level::Pd => {
                if !flags.contains(RWX) || flags.intersects(NON_LEAF_RESERVED) {
                    Slot::Invalid
                } else {
                    Slot::Table(entry & ADDR_MASK_4K)
                }
            }
        }
    }
}
