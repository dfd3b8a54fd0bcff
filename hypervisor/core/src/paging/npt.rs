//! AMD nested page-table entries (AMD APM Vol. 2, "Nested Paging").
//!
//! The nested page table uses the ordinary long-mode page-table format (APM Vol. 2
//! "Long-Mode Page Translation", 4-Kbyte PML4E/PDPE/PDE/PTE figures): bit 0 present,
//! bit 1 R/W, bit 2 U/S, bit 3 PWT, bit 4 PCD, bit 7 PS in a PDE (2 MiB page; then bit 12
//! is PAT and bits 20:13 are reserved) or PAT in a PTE, address in bits 51:12, bit 63
//! NX. The nested walk treats every access as a user access, so U/S must be 1 in every
//! entry at every level. There is no separate read right: a present entry is readable.
//! NX needs EFER.NXE = 1 in the host (otherwise bit 63 is reserved): the SVM backend
//! sets it before VMRUN.
//!
//! The memory type of a nested leaf comes from the host PAT indexed by PAT:PCD:PWT
//! (APM Vol. 2 "Nested Paging" memory-type combining; the guest's own tables use the
//! VMCB's G_PAT). This format assumes the host PAT holds its power-on value
//! (0: WB, 1: WT, 2: UC-, 3: UC, repeated for 4..7), so WB, WT and UC are expressible
//! and WC and WP are not.

use super::format::{ADDR_MASK_2M, ADDR_MASK_4K};
use super::{EntryFormat, Leaf, Level, MemoryType, PageSize, Perms, PermsError, Slot};
use crate::pte::PageTableFlags as F;

/// Bits 20:13 of a 2 MiB PDE: reserved (must be 0). Address bits, not flags.
const LARGE_RESERVED: u64 = ADDR_MASK_4K & !ADDR_MASK_2M & !F::PAT_LARGE.bits();

/// The NPT entry format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Npt;

impl Npt {
    /// PWT/PCD bits selecting `memory_type` from the power-on host PAT.
    fn pat_bits(memory_type: MemoryType) -> Result<F, PermsError> {
        match memory_type {
            MemoryType::WriteBack => Ok(F::empty()),
            MemoryType::WriteThrough => Ok(F::WRITE_THROUGH),
            MemoryType::Uncacheable => Ok(F::WRITE_THROUGH | F::CACHE_DISABLE),
            other => Err(PermsError::MemoryTypeNotRepresentable(other)),
        }
    }

    fn decode_leaf(entry: u64, size: PageSize) -> Slot {
        let flags = F::from_bits_retain(entry);
        let perms = Perms::new(
            true,
            flags.contains(F::WRITABLE),
            !flags.contains(F::NO_EXECUTE),
        );
        // PAT index bits 1:0 = PCD:PWT; the PAT bit selects entries 4..7, which repeat
        // 0..3 in the power-on PAT. Entry 2 (UC-) is reported as UC.
        let memory_type = match (
            flags.contains(F::CACHE_DISABLE),
            flags.contains(F::WRITE_THROUGH),
        ) {
            (false, false) => MemoryType::WriteBack,
            (false, true) => MemoryType::WriteThrough,
            (true, _) => MemoryType::Uncacheable,
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
}

impl EntryFormat for Npt {
    fn check(&self, perms: Perms, memory_type: MemoryType) -> Result<(), PermsError> {
        match (perms.read, perms.write, perms.execute) {
            (false, false, false) => Err(PermsError::NoAccess),
            (false, true, _) => Err(PermsError::WriteWithoutRead),
            (false, false, true) => Err(PermsError::ReadNotOptional),
            (true, _, _) => Self::pat_bits(memory_type).map(|_| ()),
        }
    }

    fn encode_table(&self, table: u64) -> u64 {
        // Non-leaf entries grant everything (writable, executable); U/S = 1 at every
        // level as nested paging requires.
        (table & ADDR_MASK_4K) | (F::PRESENT | F::WRITABLE | F::USER).bits()
    }

    fn encode_leaf(
        &self,
        hpa: u64,
        size: PageSize,
        perms: Perms,
        memory_type: MemoryType,
    ) -> Result<u64, PermsError> {
        self.check(perms, memory_type)?;
        let mut flags = F::PRESENT | F::USER | Self::pat_bits(memory_type)?;
        flags.set(F::WRITABLE, perms.write);
        flags.set(F::NO_EXECUTE, !perms.execute);
        Ok(match size {
            PageSize::Size4K => flags.bits() | (hpa & ADDR_MASK_4K),
            PageSize::Size2M => (flags | F::PAGE_SIZE).bits() | (hpa & ADDR_MASK_2M),
        })
    }

    fn decode(&self, entry: u64, level: Level) -> Slot {
        // The one edge where a raw entry read from a table becomes flags.
        let flags = F::from_bits_retain(entry);
        if !flags.contains(F::PRESENT) {
            return Slot::Empty;
        }
        if !flags.contains(F::USER) {
            // A nested entry with U/S = 0 faults every access: never written here.
            return Slot::Invalid;
        }
        match level {
            Level::Pt => Self::decode_leaf(entry, PageSize::Size4K),
            Level::Pd if flags.contains(F::PAGE_SIZE) => Self::decode_leaf(entry, PageSize::Size2M),
            // 1 GiB pages (PDPE bit 7) are never created; bit 7 of a PML4E is reserved.
            Level::Pml4 | Level::Pdpt | Level::Pd => {
                if flags.intersection(F::WRITABLE | F::NO_EXECUTE | F::PAGE_SIZE) != F::WRITABLE {
                    Slot::Invalid
                } else {
                    Slot::Table(entry & ADDR_MASK_4K)
                }
            }
        }
    }
}
