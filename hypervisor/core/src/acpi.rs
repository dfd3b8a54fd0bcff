//! The CPUs the firmware reports: ACPI's MADT, found from the RSDP (ACPI 6.5 §5.2.5
//! "Root System Description Pointer", §5.2.7 RSDT, §5.2.8 XSDT, §5.2.12 "Multiple APIC
//! Description Table").
//!
//! Pure: the kernel hands a [`PhysMem`] over the identity-mapped low 4 GiB, and this
//! module finds the RSDP in the two places a BIOS may put it (the first KiB of the EBDA,
//! whose segment the BIOS data area holds at 0x40E, and 0xE0000..0x100000) or, on UEFI
//! firmware, which leaves none there, in the memory the firmware's map reports as ACPI
//! tables or ACPI NVS (the multiboot memory map GRUB EFI builds from the UEFI one; the
//! RSDP is in one of them, since the OS must keep it), follows the
//! XSDT (or the RSDT when there is no XSDT) to the table signed `APIC`, checks every
//! checksum and length on the way, and lists the local APICs. Host-tested on tables
//! recorded from Bochs and QEMU (`tests/acpi_fixtures.rs`).
//!
//! A table that fails a check is refused with what failed: firmware tables are input.

use crate::multiboot::PhysMem;
use alloc::vec::Vec;
use core::fmt;
use core::ops::Range;

/// The BIOS data area word holding the EBDA's real-mode segment.
const EBDA_SEGMENT_AT: u64 = 0x40E;
/// The BIOS read-only area searched after the EBDA.
const BIOS_AREA: core::ops::Range<u64> = 0xE_0000..0x10_0000;
/// Length of an ACPI 1.0 RSDP (the checksum covers these bytes).
const RSDP_V1_LEN: usize = 20;
/// Length of an ACPI 2.0+ RSDP.
const RSDP_V2_LEN: usize = 36;
/// Length of a system description table's header (§5.2.6).
pub const HEADER_LEN: usize = 36;
/// The largest table this module reads (real MADTs are a few hundred bytes per CPU
/// group; 64 KiB bounds a corrupt length).
const MAX_TABLE_LEN: usize = 64 * 1024;

/// Why the CPUs could not be listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcpiError {
    /// No RSDP with a valid checksum in the EBDA, the BIOS area or the firmware's ACPI
    /// memory.
    NoRsdp,
    /// The table at `addr` could not be read (outside memory, or length out of range).
    Unreadable { addr: u64 },
    /// The table at `addr` does not have the expected signature.
    Signature { addr: u64, want: [u8; 4] },
    /// The bytes of the table at `addr` do not sum to 0 mod 256.
    Checksum { addr: u64 },
    /// The RSDT/XSDT names no table signed `APIC`.
    NoMadt,
    /// A MADT entry runs past the table's end or has a length below 2.
    BadEntry { offset: usize },
}

impl fmt::Display for AcpiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AcpiError::NoRsdp => write!(
                f,
                "no RSDP in the EBDA, 0xE0000..0x100000 or the ACPI memory of the memory map"
            ),
            AcpiError::Unreadable { addr } => write!(f, "table at {addr:#x} unreadable"),
            AcpiError::Signature { addr, want } => write!(
                f,
                "table at {addr:#x} is not {}",
                core::str::from_utf8(want).unwrap_or("?")
            ),
            AcpiError::Checksum { addr } => write!(f, "table at {addr:#x}: bad checksum"),
            AcpiError::NoMadt => write!(f, "no MADT (APIC) table"),
            AcpiError::BadEntry { offset } => write!(f, "MADT entry at offset {offset} bad"),
        }
    }
}

/// The root pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rsdp {
    /// Where it was found.
    pub addr: u64,
    /// 0 for ACPI 1.0, 2 for 2.0 and later.
    pub revision: u8,
    pub rsdt: u32,
    /// The XSDT's address (revision ≥ 2 and non-zero).
    pub xsdt: Option<u64>,
}

impl Rsdp {
    /// The bytes the RSDP occupies (what its checksums cover).
    pub fn len(&self) -> usize {
        if self.revision >= 2 {
            RSDP_V2_LEN
        } else {
            RSDP_V1_LEN
        }
    }

    /// Never empty; for clippy's `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// One processor's local APIC, as the MADT lists it (entry type 0, or 9 for x2APIC IDs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalApic {
    /// The ACPI processor UID.
    pub uid: u32,
    pub apic_id: u32,
    /// Flags bit 0: usable now. (Bit 1, "online capable", means hot-pluggable: not used.)
    pub enabled: bool,
}

/// What the MADT says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Madt {
    /// Where the table is.
    pub addr: u64,
    /// The local APIC's MMIO address (entry type 5 overrides the header's 32 bits).
    pub lapic_base: u64,
    /// Every local-APIC entry, in table order (ACPI: the boot processor comes first).
    pub cpus: Vec<LocalApic>,
}

impl Madt {
    /// The processors that are enabled, in table order.
    pub fn enabled(&self) -> impl Iterator<Item = &LocalApic> {
        self.cpus.iter().filter(|c| c.enabled)
    }
}

/// Every table read on the way to the MADT (for `@@RAW acpi` dumps and fixtures).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub rsdp: Rsdp,
    /// (signature, address, length) of the RSDT or XSDT, then the MADT.
    pub tables: Vec<([u8; 4], u64, usize)>,
    pub madt: Madt,
}

fn sums_to_zero(bytes: &[u8]) -> bool {
    bytes.iter().fold(0u8, |a, b| a.wrapping_add(*b)) == 0
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(w)
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(w)
}

/// The RSDP at `addr`, if one with valid checksums is there.
fn rsdp_at(mem: &impl PhysMem, addr: u64) -> Option<Rsdp> {
    let v1 = mem.read(addr, RSDP_V1_LEN)?;
    if &v1[..8] != b"RSD PTR " || !sums_to_zero(v1) {
        return None;
    }
    let revision = v1[15];
    let rsdt = u32_at(v1, 16);
    if revision < 2 {
        return Some(Rsdp {
            addr,
            revision,
            rsdt,
            xsdt: None,
        });
    }
    let v2 = mem.read(addr, RSDP_V2_LEN)?;
    let len = u32_at(v2, 20) as usize;
    if len < RSDP_V2_LEN || !sums_to_zero(mem.read(addr, len)?) {
        return None;
    }
    let xsdt = Some(u64_at(v2, 24)).filter(|&x| x != 0);
    Some(Rsdp {
        addr,
        revision,
        rsdt,
        xsdt,
    })
}

/// Searches `range` on 16-byte boundaries (§5.2.5.1).
fn search(mem: &impl PhysMem, range: core::ops::Range<u64>) -> Option<Rsdp> {
    range.step_by(16).find_map(|addr| rsdp_at(mem, addr))
}

/// Finds the RSDP: the first KiB of the EBDA, then the BIOS area (where a BIOS puts it),
/// then each of `firmware` (UEFI: the memory map's ACPI-reclaimable and ACPI-NVS
/// ranges, [`crate::multiboot::BootInfo::acpi_memory`]), in order.
pub fn find_rsdp(mem: &impl PhysMem, firmware: &[Range<u64>]) -> Result<Rsdp, AcpiError> {
    let ebda = mem
        .read(EBDA_SEGMENT_AT, 2)
        .map(|w| u64::from(u16::from_le_bytes([w[0], w[1]])) << 4)
        .filter(|base| (0x400..BIOS_AREA.start).contains(base));
    ebda.and_then(|base| search(mem, base..base + 1024))
        .or_else(|| search(mem, BIOS_AREA))
        .or_else(|| {
            firmware
                .iter()
                .find_map(|r| search(mem, r.start.next_multiple_of(16)..r.end))
        })
        .ok_or(AcpiError::NoRsdp)
}

/// The whole table at `addr`, checked: signature `want`, a sane length, checksum.
pub fn table(mem: &impl PhysMem, addr: u64, want: [u8; 4]) -> Result<&[u8], AcpiError> {
    let unreadable = AcpiError::Unreadable { addr };
    let header = mem.read(addr, HEADER_LEN).ok_or(unreadable.clone())?;
    if header[..4] != want {
        return Err(AcpiError::Signature { addr, want });
    }
    let len = u32_at(header, 4) as usize;
    if !(HEADER_LEN..=MAX_TABLE_LEN).contains(&len) {
        return Err(unreadable);
    }
    let bytes = mem.read(addr, len).ok_or(unreadable)?;
    if !sums_to_zero(bytes) {
        return Err(AcpiError::Checksum { addr });
    }
    Ok(bytes)
}

/// The addresses the RSDT (4-byte entries) or XSDT (8-byte entries) lists.
fn entries(root: &[u8], wide: bool) -> impl Iterator<Item = u64> + '_ {
    let size = if wide { 8 } else { 4 };
    root[HEADER_LEN..].chunks_exact(size).map(move |c| {
        if wide {
            u64_at(c, 0)
        } else {
            u64::from(u32_at(c, 0))
        }
    })
}

/// Parses a MADT's bytes (already checked by [`table`]).
pub fn parse_madt(addr: u64, bytes: &[u8]) -> Result<Madt, AcpiError> {
    if bytes.len() < HEADER_LEN + 8 {
        return Err(AcpiError::Unreadable { addr });
    }
    let mut madt = Madt {
        addr,
        lapic_base: u64::from(u32_at(bytes, HEADER_LEN)),
        cpus: Vec::new(),
    };
    let mut at = HEADER_LEN + 8;
    while at + 2 <= bytes.len() {
        let (kind, len) = (bytes[at], bytes[at + 1] as usize);
        if len < 2 || at + len > bytes.len() {
            return Err(AcpiError::BadEntry { offset: at });
        }
        let entry = &bytes[at..at + len];
        match (kind, len) {
            // Processor Local APIC: UID u8, APIC ID u8, flags u32.
            (0, 8..) => madt.cpus.push(LocalApic {
                uid: u32::from(entry[2]),
                apic_id: u32::from(entry[3]),
                enabled: u32_at(entry, 4) & 1 != 0,
            }),
            // Local APIC Address Override: reserved u16, address u64.
            (5, 12..) => madt.lapic_base = u64_at(entry, 4),
            // Processor Local x2APIC: reserved u16, x2APIC ID u32, flags u32, UID u32.
            (9, 16..) => madt.cpus.push(LocalApic {
                uid: u32_at(entry, 12),
                apic_id: u32_at(entry, 4),
                enabled: u32_at(entry, 8) & 1 != 0,
            }),
            _ => {} // I/O APICs, overrides, NMI sources: not needed to start CPUs
        }
        at += len;
    }
    Ok(madt)
}

/// RSDP ([`find_rsdp`], `firmware` as there) → XSDT (or RSDT) → MADT, every step checked.
pub fn find_madt(mem: &impl PhysMem, firmware: &[Range<u64>]) -> Result<Found, AcpiError> {
    let rsdp = find_rsdp(mem, firmware)?;
    let (sig, root_addr, wide) = match rsdp.xsdt {
        Some(xsdt) => (*b"XSDT", xsdt, true),
        None => (*b"RSDT", u64::from(rsdp.rsdt), false),
    };
    let root = table(mem, root_addr, sig)?;
    let mut tables = alloc::vec![(sig, root_addr, root.len())];
    let madt_addr = entries(root, wide)
        .find(|&a| mem.read(a, 4).is_some_and(|s| s == b"APIC"))
        .ok_or(AcpiError::NoMadt)?;
    let bytes = table(mem, madt_addr, *b"APIC")?;
    tables.push((*b"APIC", madt_addr, bytes.len()));
    let madt = parse_madt(madt_addr, bytes)?;
    Ok(Found { rsdp, tables, madt })
}

/// Which CPUs to start: the enabled ones, the boot CPU (`boot_apic`) first, at most
/// `limit` in all (the kernel argument `cpus=N`; `None`: all of them).
pub fn chosen(madt: &Madt, boot_apic: u32, limit: Option<usize>) -> Vec<u32> {
    let mut ids: Vec<u32> = alloc::vec![boot_apic];
    ids.extend(
        madt.enabled()
            .map(|c| c.apic_id)
            .filter(|&id| id != boot_apic),
    );
    ids.truncate(limit.unwrap_or(usize::MAX).max(1));
    ids
}
