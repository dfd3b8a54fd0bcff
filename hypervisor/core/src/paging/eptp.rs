//! The EPT pointer (SDM Vol. 3C, "Extended-Page-Table Pointer (EPTP)") and the checks
//! VM entry applies to it (SDM 3C "Checks on VM-Execution Control Fields", the EPTP
//! bullets under "enable EPT"). VMFUNC leaf 0 applies the same checks to the EPTP-list
//! entry it selects and exits with reason 59 when one fails (SDM 3C "EPTP Switching"),
//! so [`validate_eptp`] is also the VMFUNC model's notion of a valid list entry.
//!
//! EPTP layout: bits 2:0 paging-structure memory type (0 UC, 6 WB), bits 5:3 page-walk
//! length minus 1, bit 6 enable accessed/dirty flags, bit 7 enable supervisor
//! shadow-stack control where the CPU has CET shadow stacks (reserved otherwise; Bochs
//! `tigerlake` accepts it, `corei7_ivy_bridge_3770k` does not), bits 11:8 reserved,
//! bits (N-1):12 the PML4 (or PML5) table address, bits 63:N reserved, where N is
//! MAXPHYADDR.

use core::fmt;

use bitflags::bitflags;

use super::{MemoryType, TABLE_SIZE};

bitflags! {
    /// The bits of an EPTP below the root address (SDM 3C "Extended-Page-Table Pointer
    /// (EPTP)"). The root address (bits 51:12) is not a flag: a raw EPTP keeps it through
    /// [`EptpFlags::from_bits_retain`].
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct EptpFlags: u64 {
        /// Bits 2:0: the paging-structure memory type (a 3-bit field: 0 UC, 6 WB).
        const MEMORY_TYPE = 0b111;
        /// Bits 5:3: the page-walk length minus 1 (a 3-bit field: 3 or 4).
        const WALK_LENGTH = 0b111 << 3;
        /// Bit 6: enable accessed and dirty flags for EPT.
        const ACCESSED_DIRTY = 1 << 6;
        /// Bit 7: enable supervisor shadow-stack control (reserved without CET).
        const SUPERVISOR_SHADOW_STACK = 1 << 7;
        /// Bits 11:8: reserved.
        const RESERVED = 0b1111 << 8;
    }
}

const WALK_SHIFT: u32 = EptpFlags::WALK_LENGTH.bits().trailing_zeros();
const UC: u8 = 0;
const WB: u8 = 6;

/// What the CPU allows in an EPTP, from IA32_VMX_EPT_VPID_CAP and CPUID 80000008H.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct EptpRules {
    /// Write-back paging structures allowed (capability bit 14).
    pub wb: bool,
    /// Uncacheable paging structures allowed (capability bit 8).
    pub uc: bool,
    /// 4-level walks supported (capability bit 6).
    pub walk4: bool,
    /// 5-level walks supported (capability bit 7).
    pub walk5: bool,
    /// Accessed and dirty flags supported (capability bit 21).
    pub ad: bool,
    /// The physical-address width N.
    pub maxphyaddr: u8,
    /// CET shadow stacks exist, so bit 7 (supervisor shadow-stack control) may be set.
    pub supervisor_shadow_stack: bool,
}

/// Why an EPTP is invalid (or cannot be encoded). Each validation variant is one rule of
/// SDM 3C "Checks on VM-Execution Control Fields".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EptpError {
    /// Bits 2:0 are neither 0 (UC) nor 6 (WB): no CPU supports other EPTP memory types.
    MemoryTypeReserved {
        /// The value of bits 2:0.
        memory_type: u8,
    },
    /// Memory type UC, but IA32_VMX_EPT_VPID_CAP bit 8 is 0.
    UncacheableUnsupported,
    /// Memory type WB, but IA32_VMX_EPT_VPID_CAP bit 14 is 0.
    WriteBackUnsupported,
    /// Bits 5:3 (walk length - 1) are neither 3 (4-level) nor 4 (5-level).
    WalkLengthReserved {
        /// The value of bits 5:3.
        walk_length_minus_one: u8,
    },
    /// A 4-level walk, but IA32_VMX_EPT_VPID_CAP bit 6 is 0.
    FourLevelWalkUnsupported,
    /// A 5-level walk, but IA32_VMX_EPT_VPID_CAP bit 7 is 0.
    FiveLevelWalkUnsupported,
    /// Bit 6 (enable A/D flags) is 1, but IA32_VMX_EPT_VPID_CAP bit 21 is 0.
    AccessDirtyUnsupported,
    /// Some of the reserved bits 11:7 are set.
    ReservedBitsSet {
        /// The set bits among 11:7, in place.
        bits: u64,
    },
    /// Bits at or above MAXPHYADDR are set.
    BeyondMaxPhyAddr {
        /// The set bits at or above MAXPHYADDR, in place.
        bits: u64,
        /// MAXPHYADDR.
        maxphyaddr: u8,
    },
    /// (Encoding only) the root table address is not 4 KiB-aligned.
    RootMisaligned {
        /// The address.
        root: u64,
    },
    /// (Encoding only) the root table address does not fit in bits 51:12.
    RootOutOfRange {
        /// The address.
        root: u64,
    },
}

impl fmt::Display for EptpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::MemoryTypeReserved { memory_type } => {
                write!(
                    f,
                    "EPTP memory type {memory_type} is neither UC (0) nor WB (6)"
                )
            }
            Self::UncacheableUnsupported => f.write_str("EPTP memory type UC is not supported"),
            Self::WriteBackUnsupported => f.write_str("EPTP memory type WB is not supported"),
            Self::WalkLengthReserved {
                walk_length_minus_one,
            } => write!(
                f,
                "EPTP page-walk length - 1 = {walk_length_minus_one} is neither 3 nor 4"
            ),
            Self::FourLevelWalkUnsupported => f.write_str("4-level EPT walks are not supported"),
            Self::FiveLevelWalkUnsupported => f.write_str("5-level EPT walks are not supported"),
            Self::AccessDirtyUnsupported => f.write_str("EPT accessed/dirty flags not supported"),
            Self::ReservedBitsSet { bits } => write!(f, "EPTP reserved bits {bits:#x} set"),
            Self::BeyondMaxPhyAddr { bits, maxphyaddr } => {
                write!(
                    f,
                    "EPTP bits {bits:#x} at or above MAXPHYADDR {maxphyaddr} set"
                )
            }
            Self::RootMisaligned { root } => write!(f, "EPT root {root:#x} is not 4 KiB-aligned"),
            Self::RootOutOfRange { root } => write!(f, "EPT root {root:#x} is beyond 52 bits"),
        }
    }
}

impl core::error::Error for EptpError {}

/// An EPT pointer value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Eptp(u64);

impl Eptp {
    /// Encodes an EPTP for the root table at `root`.
    ///
    /// This checks the form only (UC or WB, 4 or 5 levels, an aligned address below
    /// 2^52); whether this CPU accepts it is [`validate_eptp`]'s question.
    ///
    /// # Errors
    /// [`EptpError::MemoryTypeReserved`] for a type other than UC/WB,
    /// [`EptpError::WalkLengthReserved`] for other than 4 or 5 levels,
    /// [`EptpError::RootMisaligned`], [`EptpError::RootOutOfRange`].
    pub fn encode(
        root: u64,
        memory_type: MemoryType,
        walk_levels: u8,
        ad_enable: bool,
    ) -> Result<Self, EptpError> {
        let memory_type = memory_type.bits();
        if memory_type != UC && memory_type != WB {
            return Err(EptpError::MemoryTypeReserved { memory_type });
        }
        if walk_levels != 4 && walk_levels != 5 {
            return Err(EptpError::WalkLengthReserved {
                walk_length_minus_one: walk_levels.wrapping_sub(1),
            });
        }
        if root % TABLE_SIZE != 0 {
            return Err(EptpError::RootMisaligned { root });
        }
        if root >> 52 != 0 {
            return Err(EptpError::RootOutOfRange { root });
        }
        let mut flags = EptpFlags::from_bits_retain(
            (u64::from(walk_levels - 1) << WALK_SHIFT) | u64::from(memory_type),
        );
        flags.set(EptpFlags::ACCESSED_DIRTY, ad_enable);
        Ok(Self(root | flags.bits()))
    }

    /// Wraps a raw value (for example an EPTP-list entry) without checking it.
    #[must_use]
    pub const fn from_bits(bits: u64) -> Self {
        Self(bits)
    }

    /// The raw value, as written to the VMCS or the EPTP list.
    #[must_use]
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// The root table address (bits 51:12; bits above MAXPHYADDR are the validator's
    /// business).
    #[must_use]
    pub const fn root(self) -> u64 {
        self.0 & 0x000F_FFFF_FFFF_F000
    }

    /// The page-walk length in levels (bits 5:3 plus 1).
    #[must_use]
    pub const fn walk_levels(self) -> u8 {
        walk_minus_one(self.0) + 1
    }

    /// Whether bit 6 (enable accessed/dirty flags) is set.
    #[must_use]
    pub const fn ad_enabled(self) -> bool {
        self.flags().contains(EptpFlags::ACCESSED_DIRTY)
    }

    /// The bits below the root address.
    #[must_use]
    pub const fn flags(self) -> EptpFlags {
        EptpFlags::from_bits_retain(self.0).intersection(EptpFlags::all())
    }

    /// The value of bits 2:0.
    #[must_use]
    pub const fn memory_type_bits(self) -> u8 {
        memory_type(self.0)
    }

    /// [`validate_eptp`] on this value.
    ///
    /// # Errors
    /// As [`validate_eptp`].
    pub fn validate(self, rules: &EptpRules) -> Result<(), EptpError> {
        validate_eptp(self.0, rules)
    }
}

const fn memory_type(value: u64) -> u8 {
    // Three bits: the cast never truncates.
    (value & EptpFlags::MEMORY_TYPE.bits()) as u8
}

const fn walk_minus_one(value: u64) -> u8 {
    // Three bits: the cast never truncates.
    ((value & EptpFlags::WALK_LENGTH.bits()) >> WALK_SHIFT) as u8
}

/// Checks `value` as VM entry checks the EPTP field, in the order the SDM lists the
/// rules (SDM 3C "Checks on VM-Execution Control Fields"):
///
/// 1. bits 2:0: UC (0) needs `rules.uc`, WB (6) needs `rules.wb`, others are invalid;
/// 2. bits 5:3: 3 (4 levels) needs `rules.walk4`, 4 (5 levels) needs `rules.walk5`,
///    others are invalid;
/// 3. bit 6 (A/D enable) needs `rules.ad`;
/// 4. bits 11:7 are reserved (bit 7 only without `rules.supervisor_shadow_stack`);
/// 5. bits 63:MAXPHYADDR are reserved.
///
/// The newer-SDM VMFUNC rule "a walk length different from the current EPTP's is
/// invalid" compares two EPTPs and belongs to the VMFUNC model.
///
/// # Errors
/// The first rule `value` breaks.
#[inline]
pub fn validate_eptp(value: u64, rules: &EptpRules) -> Result<(), EptpError> {
    match memory_type(value) {
        UC if !rules.uc => return Err(EptpError::UncacheableUnsupported),
        WB if !rules.wb => return Err(EptpError::WriteBackUnsupported),
        UC | WB => {}
        memory_type => return Err(EptpError::MemoryTypeReserved { memory_type }),
    }
    match walk_minus_one(value) {
        3 if !rules.walk4 => return Err(EptpError::FourLevelWalkUnsupported),
        4 if !rules.walk5 => return Err(EptpError::FiveLevelWalkUnsupported),
        3 | 4 => {}
        walk_length_minus_one => {
            return Err(EptpError::WalkLengthReserved {
                walk_length_minus_one,
            });
        }
    }
    let flags = EptpFlags::from_bits_retain(value);
    if flags.contains(EptpFlags::ACCESSED_DIRTY) && !rules.ad {
        return Err(EptpError::AccessDirtyUnsupported);
    }
    let mut reserved = EptpFlags::RESERVED;
    reserved.set(
        EptpFlags::SUPERVISOR_SHADOW_STACK,
        !rules.supervisor_shadow_stack,
    );
    let set = flags.intersection(reserved);
    if !set.is_empty() {
        return Err(EptpError::ReservedBitsSet { bits: set.bits() });
    }
    let beyond = u64::MAX
        .checked_shl(u32::from(rules.maxphyaddr))
        .unwrap_or(0);
    if value & beyond != 0 {
        return Err(EptpError::BeyondMaxPhyAddr {
            bits: value & beyond,
            maxphyaddr: rules.maxphyaddr,
        });
    }
    Ok(())
}
