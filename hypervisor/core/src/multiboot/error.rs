//! Errors of multiboot parsing: which field, and what was wrong with it.

use super::{BOOTLOADER_MAGIC, MAX_STRING_LEN, MMAP_ENTRY_MIN};
use core::fmt;

/// The part of the multiboot information an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Magic,
    InfoBlock,
    Cmdline,
    /// `mods_count` / `mods_addr` and the modules array.
    Modules,
    /// Entry `n` of the modules array.
    Module(usize),
    /// The string of module `n`.
    ModuleString(usize),
    /// `mmap_length` / `mmap_addr` and the memory map buffer.
    MemoryMap,
    /// Memory-map entry `n`.
    MemoryMapEntry(usize),
    BootloaderName,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::Magic => f.write_str("magic (eax)"),
            Field::InfoBlock => f.write_str("info block"),
            Field::Cmdline => f.write_str("cmdline"),
            Field::Modules => f.write_str("mods_addr/mods_count"),
            Field::Module(n) => write!(f, "mods[{n}]"),
            Field::ModuleString(n) => write!(f, "mods[{n}].string"),
            Field::MemoryMap => f.write_str("mmap_addr/mmap_length"),
            Field::MemoryMapEntry(n) => write!(f, "mmap[{n}]"),
            Field::BootloaderName => f.write_str("boot_loader_name"),
        }
    }
}

/// What was wrong with the field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    /// EAX held this instead of 0x2BADB002.
    BadMagic(u32),
    /// `len` bytes at `addr` are not readable memory (or `addr + len` overflows).
    Unreadable { addr: u64, len: u64 },
    /// A string has no NUL within [`MAX_STRING_LEN`] bytes.
    StringTooLong,
    /// A string is not UTF-8.
    InvalidUtf8,
    /// A count or length beyond the limits above.
    TooLarge(u64),
    /// A module's `mod_end` is below its `mod_start`.
    EndBeforeStart { start: u64, end: u64 },
    /// A memory-map entry's `size` is below 20 bytes.
    EntryTooSmall(u32),
    /// A memory-map entry (its `size` field or its body) runs past `mmap_length`.
    EntryOverrun { offset: u64 },
    /// A memory-map entry's `base_addr + length` overflows 64 bits.
    RegionOverflow,
}

/// A multiboot structure that cannot be used, naming the field at fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MultibootError {
    pub field: Field,
    pub problem: Problem,
}

impl fmt::Display for MultibootError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "multiboot {}: ", self.field)?;
        match self.problem {
            Problem::BadMagic(m) => write!(f, "{m:#x} is not {BOOTLOADER_MAGIC:#x}"),
            Problem::Unreadable { addr, len } => {
                write!(f, "{len} bytes at {addr:#x} are not readable memory")
            }
            Problem::StringTooLong => write!(f, "no NUL within {MAX_STRING_LEN} bytes"),
            Problem::InvalidUtf8 => f.write_str("not valid UTF-8"),
            Problem::TooLarge(n) => write!(f, "{n} is beyond the supported limit"),
            Problem::EndBeforeStart { start, end } => {
                write!(f, "mod_end {end:#x} < mod_start {start:#x}")
            }
            Problem::EntryTooSmall(s) => write!(f, "size {s} is below {MMAP_ENTRY_MIN}"),
            Problem::EntryOverrun { offset } => {
                write!(f, "entry at offset {offset} runs past mmap_length")
            }
            Problem::RegionOverflow => f.write_str("base_addr + length overflows"),
        }
    }
}

pub(super) fn err(field: Field, problem: Problem) -> MultibootError {
    MultibootError { field, problem }
}
