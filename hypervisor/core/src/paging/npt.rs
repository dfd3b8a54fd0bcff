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

const PRESENT: u64 = 1 << 0;
const WRITABLE: u64 = 1 << 1;
const USER: u64 = 1 << 2;
const PWT: u64 = 1 << 3;
const PCD: u64 = 1 << 4;
/// PDE bit 7: the entry maps a 2 MiB page. In a PTE the same bit is PAT (left 0).
const PS: u64 = 1 << 7;
/// PAT bit of a 2 MiB PDE (left 0).
const PAT_2M: u64 = 1 << 12;
const NO_EXECUTE: u64 = 1 << 63;
/// Bits 20:13 of a 2 MiB PDE: reserved (must be 0).
const LARGE_RESERVED: u64 = ADDR_MASK_4K & !ADDR_MASK_2M & !PAT_2M;

/// The NPT entry format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Npt;

impl Npt {
    /// PWT/PCD bits selecting `memory_type` from the power-on host PAT.
    fn pat_bits(memory_type: MemoryType) -> Result<u64, PermsError> {
        match memory_type {
            MemoryType::WriteBack => Ok(0),
            MemoryType::WriteThrough => Ok(PWT),
            MemoryType::Uncacheable => Ok(PWT | PCD),
            other => Err(PermsError::MemoryTypeNotRepresentable(other)),
        }
    }

    fn decode_leaf(entry: u64, size: PageSize) -> Slot {
        let perms = Perms::new(true, entry & WRITABLE != 0, entry & NO_EXECUTE == 0);
        // PAT index bits 1:0 = PCD:PWT; the PAT bit selects entries 4..7, which repeat
        // 0..3 in the power-on PAT. Entry 2 (UC-) is reported as UC.
        let memory_type = match (entry & PCD != 0, entry & PWT != 0) {
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
        (table & ADDR_MASK_4K) | PRESENT | WRITABLE | USER
    }

    fn encode_leaf(
        &self,
        hpa: u64,
        size: PageSize,
        perms: Perms,
        memory_type: MemoryType,
    ) -> Result<u64, PermsError> {
        self.check(perms, memory_type)?;
        let mut entry = PRESENT | USER | Self::pat_bits(memory_type)?;
        if perms.write {
            entry |= WRITABLE;
        }
        if !perms.execute {
            entry |= NO_EXECUTE;
        }
        Ok(match size {
            PageSize::Size4K => entry | (hpa & ADDR_MASK_4K),
            PageSize::Size2M => entry | PS | (hpa & ADDR_MASK_2M),
        })
    }

    fn decode(&self, entry: u64, level: Level) -> Slot {
        if entry & PRESENT == 0 {
            return Slot::Empty;
        }
        if entry & USER == 0 {
            // A nested entry with U/S = 0 faults every access: never written here.
            return Slot::Invalid;
        }
        match level {
            Level::Pt => Self::decode_leaf(entry, PageSize::Size4K),
            Level::Pd if entry & PS != 0 => Self::decode_leaf(entry, PageSize::Size2M),
            // 1 GiB pages (PDPE bit 7) are never created; bit 7 of a PML4E is reserved.
            Level::Pml4 | Level::Pdpt | Level::Pd => {
                if entry & (WRITABLE | NO_EXECUTE | PS) != WRITABLE {
                    Slot::Invalid
                } else {
                    Slot::Table(entry & ADDR_MASK_4K)
                }
            }
        }
    }
}
