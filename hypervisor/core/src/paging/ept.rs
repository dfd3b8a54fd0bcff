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

use super::format::{ADDR_MASK_2M, ADDR_MASK_4K};
use super::{EntryFormat, Leaf, Level, MemoryType, PageSize, Perms, PermsError, Slot};

const READ: u64 = 1 << 0;
const WRITE: u64 = 1 << 1;
const EXECUTE: u64 = 1 << 2;
const RWX: u64 = READ | WRITE | EXECUTE;
const MEMORY_TYPE_SHIFT: u32 = 3;
const MEMORY_TYPE_MASK: u64 = 0b111 << MEMORY_TYPE_SHIFT;
/// Bits 7:3 of a non-leaf entry: reserved (must be 0).
const NON_LEAF_RESERVED: u64 = 0b1_1111 << 3;
/// Bit 7 of a PDE (and PDPTE): the entry maps a page.
const LARGE: u64 = 1 << 7;
/// Bits 20:12 of a 2 MiB PDE: reserved (must be 0).
const LARGE_RESERVED: u64 = ADDR_MASK_4K & !ADDR_MASK_2M;

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

    fn perms_bits(perms: Perms) -> u64 {
        let mut bits = 0;
        if perms.read {
            bits |= READ;
        }
        if perms.write {
            bits |= WRITE;
        }
        if perms.execute {
            bits |= EXECUTE;
        }
        bits
    }

    fn decode_leaf(&self, entry: u64, size: PageSize) -> Slot {
        let perms = Perms::new(entry & READ != 0, entry & WRITE != 0, entry & EXECUTE != 0);
        // The memory type field is 3 bits wide, so the cast never truncates.
        let mt_bits = ((entry & MEMORY_TYPE_MASK) >> MEMORY_TYPE_SHIFT) as u8;
        let (Some(memory_type), Ok(())) = (MemoryType::from_bits(mt_bits), self.check_perms(perms))
        else {
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
        (table & ADDR_MASK_4K) | RWX
    }

    fn encode_leaf(
        &self,
        hpa: u64,
        size: PageSize,
        perms: Perms,
        memory_type: MemoryType,
    ) -> Result<u64, PermsError> {
        self.check(perms, memory_type)?;
        let base = Self::perms_bits(perms) | (u64::from(memory_type.bits()) << MEMORY_TYPE_SHIFT);
        Ok(match size {
            PageSize::Size4K => base | (hpa & ADDR_MASK_4K),
            PageSize::Size2M => base | LARGE | (hpa & ADDR_MASK_2M),
        })
    }

    fn decode(&self, entry: u64, level: Level) -> Slot {
        if entry & RWX == 0 {
            return Slot::Empty;
        }
        match level {
            Level::Pt => self.decode_leaf(entry, PageSize::Size4K),
            Level::Pd if entry & LARGE != 0 => self.decode_leaf(entry, PageSize::Size2M),
            // 1 GiB pages (PDPTE bit 7) are never created; bit 7 of a PML4E is reserved.
            Level::Pml4 | Level::Pdpt | Level::Pd => {
                if entry & RWX != RWX || entry & NON_LEAF_RESERVED != 0 {
                    Slot::Invalid
                } else {
                    Slot::Table(entry & ADDR_MASK_4K)
                }
            }
        }
    }
}
