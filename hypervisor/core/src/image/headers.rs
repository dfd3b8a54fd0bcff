//! The file header and the two header tables, checked the way the loader reads them.
//!
//! `KernelObject::parse` casts the first 64 bytes to a header, then casts
//! `elf[e_phoff..]` to `e_phnum` program headers and `elf[e_shoff..]` to `e_shnum` section
//! headers, unwrapping both (so a table out of bounds or not 8-byte aligned panics, and
//! `elf[e_shoff..]` panics even when `e_shnum` is 0). It trusts `e_phentsize` and
//! `e_shentsize` to be the ELF64 sizes without looking.

use alloc::vec::Vec;

use super::elf::{
    self, ALIGN_64, EHDR_SIZE, ELFCLASS64, ELFDATA2LSB, EM_X86_64, ET_DYN, ET_EXEC, FileHeader,
    PHDR_SIZE, ProgramHeader, SHDR_SIZE, SHT_DYNSYM, SectionHeader,
};
use super::problem::{ImageProblem, Region};

const MAGIC: [u8; 4] = *b"\x7fELF";
const EI_CLASS: usize = 4;
const EI_DATA: usize = 5;

/// Decodes the file header and checks identity: magic, class, byte order, machine, type.
pub fn file_header(bytes: &[u8]) -> Result<FileHeader, ImageProblem> {
    let truncated = ImageProblem::TruncatedHeader {
        len: bytes.len() as u64,
    };
    let raw = bytes.get(..EHDR_SIZE as usize).ok_or(truncated.clone())?;
    let header = FileHeader::parse(raw).ok_or(truncated)?;
    let ident = header.ident;
    if ident[..4] != MAGIC {
        return Err(ImageProblem::NotElf);
    }
    if ident[EI_CLASS] != ELFCLASS64 {
        return Err(ImageProblem::WrongClass {
            class: ident[EI_CLASS],
        });
    }
    if ident[EI_DATA] != ELFDATA2LSB {
        return Err(ImageProblem::WrongEndianness {
            encoding: ident[EI_DATA],
        });
    }
    if header.e_machine != EM_X86_64 {
        return Err(ImageProblem::WrongMachine {
            machine: header.e_machine,
        });
    }
    if !matches!(header.e_type, ET_DYN | ET_EXEC) {
        return Err(ImageProblem::WrongType {
            e_type: header.e_type,
        });
    }
    Ok(header)
}

fn entry_size(region: Region, count: u16, size: u16, expected: u64) -> Result<(), ImageProblem> {
    if count > 0 && u64::from(size) != expected {
        return Err(ImageProblem::WrongEntrySize {
            region,
            size,
            expected: expected as u16,
        });
    }
    Ok(())
}

/// The program header table, bounds- and alignment-checked.
pub fn program_headers(
    bytes: &[u8],
    header: &FileHeader,
) -> Result<Vec<ProgramHeader>, ImageProblem> {
    let region = Region::ProgramHeaders;
    entry_size(region, header.e_phnum, header.e_phentsize, PHDR_SIZE)?;
    let len = u64::from(header.e_phnum) * PHDR_SIZE;
    let table = elf::region(bytes, region, header.e_phoff, len, ALIGN_64)?;
    Ok(elf::records(table, PHDR_SIZE)
        .filter_map(ProgramHeader::parse)
        .collect())
}

/// The section header table, bounds- and alignment-checked.
pub fn section_headers(
    bytes: &[u8],
    header: &FileHeader,
) -> Result<Vec<SectionHeader>, ImageProblem> {
    let region = Region::SectionHeaders;
    entry_size(region, header.e_shnum, header.e_shentsize, SHDR_SIZE)?;
    let len = u64::from(header.e_shnum) * SHDR_SIZE;
    let table = elf::region(bytes, region, header.e_shoff, len, ALIGN_64)?;
    Ok(elf::records(table, SHDR_SIZE)
        .filter_map(SectionHeader::parse)
        .collect())
}

/// The loader casts the first `SHT_DYNSYM` section to symbols (unwrapping), so it must
/// lie inside the file and be 8-byte aligned. Its contents are never used: the only
/// relocation type accepted names no symbol.
pub fn dynamic_symbols(bytes: &[u8], sections: &[SectionHeader]) -> Result<(), ImageProblem> {
    match sections.iter().find(|sh| sh.sh_type == SHT_DYNSYM) {
        Some(sh) => elf::region(
            bytes,
            Region::DynamicSymbols,
            sh.sh_offset,
            sh.sh_size,
            ALIGN_64,
        )
        .map(drop),
        None => Ok(()),
    }
}
