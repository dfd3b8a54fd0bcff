//! Multiboot (v1) boot information, parsed into owned values.
//!
//! Layout: Multiboot Specification 0.6.96, §3.3 "Boot information format" (info block
//! offsets below), §3.2 (EAX = 0x2BADB002 on entry). The kernel hands memory to the parser
//! through [`PhysMem`], so every address the loader gave is bounds-checked before use and
//! the tests can lay structures out in a `Vec` exactly as GRUB and QEMU do.

use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;

mod error;
use error::err;
pub use error::{Field, MultibootError, Problem};

/// The value a multiboot loader leaves in EAX (Multiboot spec §3.2).
pub const BOOTLOADER_MAGIC: u32 = 0x2BAD_B002;
/// Longest string accepted (command lines, module strings, loader name), NUL excluded.
pub const MAX_STRING_LEN: usize = 4096;
/// Most modules accepted.
pub const MAX_MODULES: u32 = 512;
/// Largest memory map accepted, in bytes (over 2700 entries of 24 bytes).
pub const MAX_MMAP_BYTES: u32 = 64 * 1024;
/// Size of the whole v1 info block, framebuffer fields included (spec §3.3: offsets 0–115).
/// Reserved whole whatever the flags say: the loader allocated it.
const INFO_BLOCK_SIZE: u64 = 116;
/// One entry of the modules array: mod_start, mod_end, string, reserved.
const MODULE_ENTRY_SIZE: u64 = 16;
/// Smallest memory-map entry after its `size` field: base_addr, length, type.
const MMAP_ENTRY_MIN: u32 = 20;

/// Read access to physical memory. `None` means the range is not (wholly) readable.
pub trait PhysMem {
    fn read(&self, addr: u64, len: usize) -> Option<&[u8]>;
}

/// Type of a memory-map region (Multiboot spec §3.3, `type` field; BIOS E820 values).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionKind {
    /// 1: RAM the OS may use.
    Available,
    /// 2: reserved.
    Reserved,
    /// 3: ACPI tables, usable once read.
    AcpiReclaimable,
    /// 4: ACPI NVS, preserved across hibernation.
    Nvs,
    /// 5: defective RAM.
    Bad,
    /// Any other value; treated as reserved.
    Other(u32),
}

impl RegionKind {
    pub fn from_raw(t: u32) -> Self {
        match t {
            1 => RegionKind::Available,
            2 => RegionKind::Reserved,
            3 => RegionKind::AcpiReclaimable,
            4 => RegionKind::Nvs,
            5 => RegionKind::Bad,
            other => RegionKind::Other(other),
        }
    }
}

/// One memory-map entry. `base + len` never overflows (checked when parsing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryRegion {
    pub base: u64,
    pub len: u64,
    pub kind: RegionKind,
}

impl MemoryRegion {
    pub fn range(&self) -> Range<u64> {
        self.base..self.base.saturating_add(self.len)
    }
}

/// A boot module: physical bytes `start..end` and the string the loader gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Module {
    pub start: u64,
    pub end: u64,
    pub cmdline: String,
}

/// Everything Tessera uses from the multiboot information, copied out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BootInfo {
    /// Kernel command line (flags bit 2), as given: QEMU's and GRUB's start with the path.
    pub cmdline: Option<String>,
    /// KiB of lower memory from 0 (flags bit 0).
    pub mem_lower_kib: Option<u32>,
    /// KiB of upper memory from 1 MiB up to the first hole (flags bit 0).
    pub mem_upper_kib: Option<u32>,
    /// The BIOS memory map (flags bit 6), in the loader's order.
    pub memory_map: Vec<MemoryRegion>,
    /// Boot modules (flags bit 3), in the loader's order.
    pub modules: Vec<Module>,
    /// Boot loader name (flags bit 9).
    pub bootloader: Option<String>,
    /// Every physical range the multiboot structures occupy (info block, modules array,
    /// memory map, each string), so that nothing is allocated over them before use.
    pub structures: Vec<Range<u64>>,
}

/// Exactly `len` bytes at `addr`, or an error naming `field`.
fn bytes(mem: &dyn PhysMem, field: Field, addr: u64, len: u64) -> Result<&[u8], MultibootError> {
    let unreadable = err(field, Problem::Unreadable { addr, len });
    let n = usize::try_from(len).map_err(|_| unreadable)?;
    addr.checked_add(len).ok_or(unreadable)?;
    mem.read(addr, n).filter(|b| b.len() == n).ok_or(unreadable)
}

fn u32_at(buf: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        buf.get(off..off.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn u64_at(buf: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        buf.get(off..off.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// The NUL-terminated UTF-8 string at `addr` and the range it occupies (NUL included).
fn c_string(
    mem: &dyn PhysMem,
    field: Field,
    addr: u64,
) -> Result<(String, Range<u64>), MultibootError> {
    let mut out: Vec<u8> = Vec::new();
    loop {
        // At most MAX_STRING_LEN + 1 bytes, so the count fits any integer type.
        let at = addr
            .checked_add(out.len() as u64)
            .ok_or(err(field, Problem::StringTooLong))?;
        // Read ahead in chunks; near the end of readable memory fall back to single bytes.
        let chunk = mem
            .read(at, 64)
            .or_else(|| mem.read(at, 1))
            .filter(|c| !c.is_empty());
        let chunk = chunk.ok_or(err(field, Problem::Unreadable { addr: at, len: 1 }))?;
        if let Some(nul) = chunk.iter().position(|&b| b == 0) {
            out.extend(chunk.iter().take(nul));
            if out.len() > MAX_STRING_LEN {
                return Err(err(field, Problem::StringTooLong));
            }
            let end = addr.saturating_add(out.len() as u64).saturating_add(1);
            let s = String::from_utf8(out).map_err(|_| err(field, Problem::InvalidUtf8))?;
            return Ok((s, addr..end));
        }
        out.extend_from_slice(chunk);
        if out.len() > MAX_STRING_LEN {
            return Err(err(field, Problem::StringTooLong));
        }
    }
}

impl BootInfo {
    /// Parses the information block at `info_addr` that a loader passed with `magic`.
    pub fn parse(
        magic: u32,
        info_addr: u32,
        mem: &dyn PhysMem,
    ) -> Result<BootInfo, MultibootError> {
        if magic != BOOTLOADER_MAGIC {
            return Err(err(Field::Magic, Problem::BadMagic(magic)));
        }
        let base = u64::from(info_addr);
        let flags_buf = bytes(mem, Field::InfoBlock, base, 4)?;
        let flags = u32_at(flags_buf, 0).unwrap_or(0);
        let has = |bit: u32| flags & (1 << bit) != 0;
        // Read only as far as the last field the flags say is valid (spec §3.3 offsets).
        let need = [(0, 12), (2, 20), (3, 28), (6, 52), (9, 68)]
            .iter()
            .filter(|(bit, _)| has(*bit))
            .fold(4, |acc, (_, end)| acc.max(*end));
        let info = bytes(mem, Field::InfoBlock, base, need)?;
        // `need` covers every offset read below, so these reads succeed.
        let field = |off: usize| {
            u32_at(info, off).ok_or(err(
                Field::InfoBlock,
                Problem::Unreadable {
                    addr: base,
                    len: need,
                },
            ))
        };

        let mut out = BootInfo::default();
        out.structures
            .push(base..base.saturating_add(INFO_BLOCK_SIZE));
        if has(0) {
            out.mem_lower_kib = Some(field(4)?);
            out.mem_upper_kib = Some(field(8)?);
        }
        if has(2) {
            let (s, r) = c_string(mem, Field::Cmdline, u64::from(field(16)?))?;
            out.cmdline = Some(s);
            out.structures.push(r);
        }
        if has(3) {
            out.parse_modules(mem, field(20)?, u64::from(field(24)?))?;
        }
        if has(6) {
            out.parse_mmap(mem, field(44)?, u64::from(field(48)?))?;
        }
        if has(9) {
            let (s, r) = c_string(mem, Field::BootloaderName, u64::from(field(64)?))?;
            out.bootloader = Some(s);
            out.structures.push(r);
        }
        Ok(out)
    }

    fn parse_modules(
        &mut self,
        mem: &dyn PhysMem,
        count: u32,
        addr: u64,
    ) -> Result<(), MultibootError> {
        if count > MAX_MODULES {
            return Err(err(Field::Modules, Problem::TooLarge(u64::from(count))));
        }
        if count == 0 {
            return Ok(());
        }
        let len = u64::from(count) * MODULE_ENTRY_SIZE;
        let table = bytes(mem, Field::Modules, addr, len)?;
        self.structures.push(addr..addr.saturating_add(len));
        for (i, entry) in table.chunks_exact(16).enumerate() {
            let word = |off| {
                u32_at(entry, off)
                    .map(u64::from)
                    .ok_or(err(Field::Module(i), Problem::Unreadable { addr, len }))
            };
            let (start, end, string) = (word(0)?, word(4)?, word(8)?);
            if end < start {
                return Err(err(
                    Field::Module(i),
                    Problem::EndBeforeStart { start, end },
                ));
            }
            // A zero string pointer means "no string" rather than a string at address 0.
            let cmdline = if string == 0 {
                String::new()
            } else {
                let (s, r) = c_string(mem, Field::ModuleString(i), string)?;
                self.structures.push(r);
                s
            };
            self.modules.push(Module {
                start,
                end,
                cmdline,
            });
        }
        Ok(())
    }

    /// Memory map (spec §3.3): entries of `size` (u32, not counting itself), base_addr (u64),
    /// length (u64), type (u32); the next entry starts `size + 4` bytes later.
    fn parse_mmap(
        &mut self,
        mem: &dyn PhysMem,
        length: u32,
        addr: u64,
    ) -> Result<(), MultibootError> {
        if length > MAX_MMAP_BYTES {
            return Err(err(Field::MemoryMap, Problem::TooLarge(u64::from(length))));
        }
        let buf = bytes(mem, Field::MemoryMap, addr, u64::from(length))?;
        self.structures
            .push(addr..addr.saturating_add(u64::from(length)));
        let mut off: usize = 0;
        while off < buf.len() {
            let index = self.memory_map.len();
            let overrun = err(
                Field::MemoryMapEntry(index),
                Problem::EntryOverrun { offset: off as u64 },
            );
            let size = u32_at(buf, off).ok_or(overrun)?;
            if size < MMAP_ENTRY_MIN {
                return Err(err(
                    Field::MemoryMapEntry(index),
                    Problem::EntryTooSmall(size),
                ));
            }
            let body = off.checked_add(4).ok_or(overrun)?;
            let next = usize::try_from(size)
                .ok()
                .and_then(|s| body.checked_add(s))
                .ok_or(overrun)?;
            let entry = buf.get(body..next).ok_or(overrun)?;
            let (base, len, kind) = (u64_at(entry, 0), u64_at(entry, 8), u32_at(entry, 16));
            let (Some(base), Some(len), Some(kind)) = (base, len, kind) else {
                return Err(overrun);
            };
            if base.checked_add(len).is_none() {
                return Err(err(Field::MemoryMapEntry(index), Problem::RegionOverflow));
            }
            self.memory_map.push(MemoryRegion {
                base,
                len,
                kind: RegionKind::from_raw(kind),
            });
            off = next;
        }
        Ok(())
    }

    /// The memory map, or when the loader gave none (flags bit 6 clear) the two regions
    /// `mem_lower`/`mem_upper` describe: 0..lower KiB and 1 MiB..1 MiB + upper KiB.
    pub fn usable_memory_map(&self) -> Vec<MemoryRegion> {
        if !self.memory_map.is_empty() {
            return self.memory_map.clone();
        }
        let region = |base, kib: Option<u32>| {
            kib.filter(|&k| k != 0).map(|k| MemoryRegion {
                base,
                len: u64::from(k) * 1024,
                kind: RegionKind::Available,
            })
        };
        region(0, self.mem_lower_kib)
            .into_iter()
            .chain(region(1 << 20, self.mem_upper_kib))
            .collect()
    }

    /// The ranges the memory map reports as ACPI tables (reclaimable) or ACPI NVS, in map
    /// order: where UEFI firmware leaves the RSDP ([`crate::acpi::find_rsdp`]).
    pub fn acpi_memory(&self) -> Vec<Range<u64>> {
        self.memory_map
            .iter()
            .filter(|r| matches!(r.kind, RegionKind::AcpiReclaimable | RegionKind::Nvs))
            .map(MemoryRegion::range)
            .collect()
    }

    /// The kernel command line split by [`parse_cmdline`] (empty without a command line).
    pub fn args(&self) -> Vec<(String, Option<String>)> {
        parse_cmdline(self.cmdline.as_deref().unwrap_or(""))
    }
}

/// Splits a command line into `key=value` (or bare `key`) arguments at ASCII whitespace.
/// The first word is skipped when it is a path (contains `/` and no `=`): QEMU's `-kernel`
/// and GRUB's `multiboot` lines start with the kernel's path. No quoting.
pub fn parse_cmdline(s: &str) -> Vec<(String, Option<String>)> {
    let mut words = s.split_ascii_whitespace().peekable();
    if words
        .peek()
        .is_some_and(|w| w.contains('/') && !w.contains('='))
    {
        words.next();
    }
    words
        .map(|w| match w.split_once('=') {
            Some((k, v)) => (String::from(k), Some(String::from(v))),
            None => (String::from(w), None),
        })
        .collect()
}

#[cfg(test)]
mod tests;
