//! The few ELF64 structures the loader reads, decoded from little-endian bytes.
//!
//! Layouts follow the System V gABI ("ELF Header", "Program Header", "Sections",
//! "Dynamic Section", "Relocation") and the x86-64 psABI (`EM_X86_64`, relocation types).
//! Nothing here indexes a slice: records are taken with `get` and decoded with
//! `split_first_chunk`, so a short buffer is an `Err`/`None`, never a panic.

use super::problem::{ImageProblem, Region};

/// Size of the ELF64 file header.
pub const EHDR_SIZE: u64 = 64;
/// Size of one ELF64 program header.
pub const PHDR_SIZE: u64 = 56;
/// Size of one ELF64 section header.
pub const SHDR_SIZE: u64 = 64;
/// Size of one `Elf64_Dyn`.
pub const DYN_SIZE: u64 = 16;
/// Size of one `Elf64_Rela`.
pub const RELA_SIZE: u64 = 24;
/// Alignment of every ELF64 structure with a 64-bit field (header, program and section
/// headers, `Dyn`, `Rela`, `Sym`): the loader's `plain` casts demand it.
pub const ALIGN_64: u64 = 8;
/// Alignment of a note header (three `u32`).
pub const ALIGN_NOTE: u64 = 4;

pub const ELFCLASS64: u8 = 2;
pub const ELFDATA2LSB: u8 = 1;
pub const EM_X86_64: u16 = 62;
pub const ET_EXEC: u16 = 2;
pub const ET_DYN: u16 = 3;

pub const PT_NULL: u32 = 0;
pub const PT_LOAD: u32 = 1;
pub const PT_DYNAMIC: u32 = 2;
pub const PT_NOTE: u32 = 4;
pub const PT_PHDR: u32 = 6;
pub const PT_GNU_EH_FRAME: u32 = 0x6474_e550;
pub const PT_GNU_STACK: u32 = 0x6474_e551;
pub const PT_GNU_RELRO: u32 = 0x6474_e552;
pub const PT_GNU_PROPERTY: u32 = 0x6474_e553;

pub const PF_X: u32 = 1;
pub const PF_W: u32 = 2;
pub const PF_R: u32 = 4;

pub const SHT_DYNSYM: u32 = 11;

pub const R_X86_64_RELATIVE: u32 = 8;

/// Reads little-endian fields front to back.
struct Fields<'a>(&'a [u8]);

impl Fields<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }
    fn u16(&mut self) -> Option<u16> {
        self.take().map(u16::from_le_bytes)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_le_bytes)
    }
}

/// The ELF64 file header fields the checks need.
#[derive(Clone, Copy, Debug)]
pub struct FileHeader {
    pub ident: [u8; 16],
    pub e_type: u16,
    pub e_machine: u16,
    pub e_entry: u64,
    pub e_phoff: u64,
    pub e_shoff: u64,
    pub e_phentsize: u16,
    pub e_phnum: u16,
    pub e_shentsize: u16,
    pub e_shnum: u16,
}

impl FileHeader {
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let mut r = Fields(bytes);
        let ident = r.take::<16>()?;
        let e_type = r.u16()?;
        let e_machine = r.u16()?;
        let _e_version = r.u32()?;
        let e_entry = r.u64()?;
        let e_phoff = r.u64()?;
        let e_shoff = r.u64()?;
        let _e_flags = r.u32()?;
        let _e_ehsize = r.u16()?;
        let e_phentsize = r.u16()?;
        let e_phnum = r.u16()?;
        let e_shentsize = r.u16()?;
        let e_shnum = r.u16()?;
        let _e_shstrndx = r.u16()?;
        Some(Self {
            ident,
            e_type,
            e_machine,
            e_entry,
            e_phoff,
            e_shoff,
            e_phentsize,
            e_phnum,
            e_shentsize,
            e_shnum,
        })
    }
}

/// One ELF64 program header.
#[derive(Clone, Copy, Debug)]
pub struct ProgramHeader {
    pub p_type: u32,
    pub p_flags: u32,
    pub p_offset: u64,
    pub p_vaddr: u64,
    pub p_filesz: u64,
    pub p_memsz: u64,
    pub p_align: u64,
}

impl ProgramHeader {
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let mut r = Fields(bytes);
        let p_type = r.u32()?;
        let p_flags = r.u32()?;
        let p_offset = r.u64()?;
        let p_vaddr = r.u64()?;
        let _p_paddr = r.u64()?;
        let p_filesz = r.u64()?;
        let p_memsz = r.u64()?;
        let p_align = r.u64()?;
        Some(Self {
            p_type,
            p_flags,
            p_offset,
            p_vaddr,
            p_filesz,
            p_memsz,
            p_align,
        })
    }

    /// One past the last virtual address (`None` if it wraps).
    pub fn vaddr_end(&self) -> Option<u64> {
        self.p_vaddr.checked_add(self.p_memsz)
    }
}

/// The ELF64 section header fields the checks need.
#[derive(Clone, Copy, Debug)]
pub struct SectionHeader {
    pub sh_type: u32,
    pub sh_offset: u64,
    pub sh_size: u64,
}

impl SectionHeader {
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let mut r = Fields(bytes);
        let _sh_name = r.u32()?;
        let sh_type = r.u32()?;
        let _sh_flags = r.u64()?;
        let _sh_addr = r.u64()?;
        let sh_offset = r.u64()?;
        let sh_size = r.u64()?;
        Some(Self {
            sh_type,
            sh_offset,
            sh_size,
        })
    }
}

/// One `Elf64_Dyn`.
#[derive(Clone, Copy, Debug)]
pub struct Dyn {
    pub tag: u64,
    pub val: u64,
}

impl Dyn {
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let mut r = Fields(bytes);
        Some(Self {
            tag: r.u64()?,
            val: r.u64()?,
        })
    }
}

/// One `Elf64_Rela`.
#[derive(Clone, Copy, Debug)]
pub struct Rela {
    pub offset: u64,
    pub info: u64,
    pub addend: i64,
}

impl Rela {
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let mut r = Fields(bytes);
        Some(Self {
            offset: r.u64()?,
            info: r.u64()?,
            addend: r.take().map(i64::from_le_bytes)?,
        })
    }

    /// `ELF64_R_TYPE`: the low 32 bits of `r_info`.
    pub fn r_type(&self) -> u32 {
        (self.info & 0xffff_ffff) as u32
    }

    /// `ELF64_R_SYM`: the high 32 bits of `r_info`.
    pub fn r_sym(&self) -> u32 {
        (self.info >> 32) as u32
    }
}

/// A note header (`Elf64_Nhdr` has the same three `u32` as `Elf32_Nhdr`).
#[derive(Clone, Copy, Debug)]
pub struct NoteHeader {
    pub namesz: u32,
    pub descsz: u32,
    pub n_type: u32,
}

/// Size of a note header.
pub const NHDR_SIZE: u64 = 12;

impl NoteHeader {
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let mut r = Fields(bytes);
        Some(Self {
            namesz: r.u32()?,
            descsz: r.u32()?,
            n_type: r.u32()?,
        })
    }
}

/// The part of `bytes` at `offset..offset + len`, which the loader reads in place as a
/// table with entries aligned to `align`: checked for alignment (relative to the buffer
/// start, which the caller has checked is 8-byte aligned) and for bounds.
pub fn region(
    bytes: &[u8],
    region: Region,
    offset: u64,
    len: u64,
    align: u64,
) -> Result<&[u8], ImageProblem> {
    let file_len = bytes.len() as u64;
    let out_of_bounds = ImageProblem::OutOfBounds {
        region,
        offset,
        len,
        file_len,
    };
    let end = offset.checked_add(len).ok_or(out_of_bounds.clone())?;
    if end > file_len {
        return Err(out_of_bounds);
    }
    if offset % align != 0 {
        return Err(ImageProblem::Misaligned {
            region,
            offset,
            align,
        });
    }
    let (Ok(start), Ok(end)) = (usize::try_from(offset), usize::try_from(end)) else {
        return Err(out_of_bounds);
    };
    bytes.get(start..end).ok_or(out_of_bounds)
}

/// Splits a table into `size`-byte records (a trailing partial record is dropped; callers
/// check sizes first).
pub fn records(table: &[u8], size: u64) -> impl Iterator<Item = &[u8]> {
    table.chunks_exact(usize::try_from(size).unwrap_or(usize::MAX))
}
