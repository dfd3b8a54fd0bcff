//! The messages of [`ImageProblem`]: what a boot log shows when a module is refused.

use core::fmt;

use super::problem::{AbiNote, ImageProblem};

fn segment_type_name(p_type: u32) -> &'static str {
    match p_type {
        3 => " (PT_INTERP: needs a dynamic linker)",
        5 => " (PT_SHLIB)",
        7 => " (PT_TLS: compartments have no thread-local storage)",
        _ => "",
    }
}

fn perm_string(flags: u32) -> [u8; 3] {
    let bit = |mask: u32, c: u8| if flags & mask == 0 { b'-' } else { c };
    [bit(4, b'R'), bit(2, b'W'), bit(1, b'X')]
}

impl fmt::Display for ImageProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_file(f)
            .or_else(|| self.fmt_segment_shape(f))
            .or_else(|| self.fmt_segment_layout(f))
            .or_else(|| self.fmt_notes(f))
            .or_else(|| self.fmt_dynamic(f))
            .or_else(|| self.fmt_placement(f))
            // Every variant has a message above; a new one without shows its fields.
            .unwrap_or_else(|| write!(f, "{self:?}"))
    }
}

/// One helper per group of problems (the order of [`ImageProblem`]'s variants); each
/// returns `None` for a problem of another group.
impl ImageProblem {
    /// Problems with the file and its headers.
    fn fmt_file(&self, f: &mut fmt::Formatter<'_>) -> Option<fmt::Result> {
        Some(match self {
            Self::BufferMisaligned { misalignment } => write!(
                f,
                "image bytes are not 8-byte aligned in memory (address mod 8 = {misalignment}); the loader reads them in place"
            ),
            Self::TruncatedHeader { len } => {
                write!(f, "truncated header: {len} bytes, an ELF64 header needs 64")
            }
            Self::NotElf => f.write_str("not an ELF file (no \\x7fELF magic)"),
            Self::WrongClass { class } => write!(f, "not ELF64 (EI_CLASS = {class})"),
            Self::WrongEndianness { encoding } => {
                write!(f, "not little-endian (EI_DATA = {encoding})")
            }
            Self::WrongMachine { machine } => {
                write!(f, "built for machine {machine}, not x86_64 (62)")
            }
            Self::WrongType { e_type } => {
                write!(f, "ELF type {e_type} is neither ET_DYN (3) nor ET_EXEC (2)")
            }
            Self::WrongEntrySize {
                region,
                size,
                expected,
            } => write!(f, "{region} have entry size {size}, ELF64 needs {expected}"),
            Self::OutOfBounds {
                region,
                offset,
                len,
                file_len,
            } => write!(
                f,
                "{region} ({len:#x} bytes at file offset {offset:#x}) lie outside the file ({file_len:#x} bytes)"
            ),
            Self::Misaligned {
                region,
                offset,
                align,
            } => write!(
                f,
                "{region} at file offset {offset:#x} are not {align}-byte aligned"
            ),
            _ => return None,
        })
    }

    /// Problems with one loadable segment.
    fn fmt_segment_shape(&self, f: &mut fmt::Formatter<'_>) -> Option<fmt::Result> {
        Some(match self {
            Self::UnsupportedSegmentType { index, p_type } => write!(
                f,
                "segment {index} has unsupported type {p_type:#x}{}",
                segment_type_name(*p_type)
            ),
            Self::SegmentOutOfBounds {
                index,
                offset,
                filesz,
                file_len,
            } => write!(
                f,
                "segment {index}'s file range ({filesz:#x} bytes at offset {offset:#x}) lies outside the file ({file_len:#x} bytes)"
            ),
            Self::SegmentWraps { index } => {
                write!(f, "segment {index}'s address range wraps around")
            }
            Self::FileSizeExceedsMemSize {
                index,
                filesz,
                memsz,
            } => write!(
                f,
                "segment {index} has file size {filesz:#x} larger than its memory size {memsz:#x}"
            ),
            Self::EmptySegment { index } => write!(f, "segment {index} is empty (p_memsz = 0)"),
            Self::UnmappablePermissions { index, flags } => {
                let p = perm_string(*flags);
                write!(
                    f,
                    "segment {index} has permissions {} that a page table cannot express",
                    core::str::from_utf8(&p).unwrap_or("???")
                )
            }
            Self::WritableAndExecutable { index } => {
                write!(f, "segment {index} is both writable and executable")
            }
            Self::AlignmentNotPowerOfTwo { index, align } => write!(
                f,
                "segment {index}'s alignment {align:#x} is not a power of two"
            ),
            Self::AlignmentTooLarge { index, align } => write!(
                f,
                "segment {index} asks for alignment {align:#x}, more than the {:#x} a region base gets",
                super::MAX_SEGMENT_ALIGN
            ),
            _ => return None,
        })
    }

    /// Problems with how the segments lie in the image.
    fn fmt_segment_layout(&self, f: &mut fmt::Formatter<'_>) -> Option<fmt::Result> {
        Some(match self {
            Self::AddressOffsetMismatch {
                index,
                vaddr,
                offset,
                align,
            } => write!(
                f,
                "segment {index}'s address {vaddr:#x} and file offset {offset:#x} differ modulo its alignment {align:#x}"
            ),
            Self::BadImageBase {
                index,
                vaddr,
                relocatable: true,
            } => write!(
                f,
                "segment {index}, the first PT_LOAD of a relocatable image, starts at {vaddr:#x} instead of 0"
            ),
            Self::BadImageBase { index, vaddr, .. } => write!(
                f,
                "segment {index}, the first PT_LOAD, starts at {vaddr:#x}, which is not page-aligned"
            ),
            Self::NoLoadSegment => f.write_str("no PT_LOAD segment"),
            Self::SegmentsOutOfOrder { index } => write!(
                f,
                "segment {index} starts below the PT_LOAD segment before it (PT_LOAD headers must ascend)"
            ),
            Self::OverlappingSegments { first, second } => {
                write!(f, "segments {first} and {second} overlap")
            }
            Self::SharedPage {
                first,
                second,
                page_offset,
            } => write!(
                f,
                "segments {first} and {second} share the page at offset {page_offset:#x} but have different permissions"
            ),
            _ => return None,
        })
    }

    /// Problems with the notes: the ABI-version note and hermit-entry's entry version.
    fn fmt_notes(&self, f: &mut fmt::Formatter<'_>) -> Option<fmt::Result> {
        let ours = tessera_abi::ABI_VERSION;
        Some(match self {
            Self::NoNoteSegment => {
                f.write_str("no PT_NOTE segment (the ABI-version and hermit-entry entry-version notes are missing)")
            }
            Self::MalformedNote { index, defect } => {
                write!(f, "note {index} of the first PT_NOTE segment {defect}")
            }
            Self::MissingEntryVersion => f.write_str(
                "missing hermit-entry entry-version note (HERMIT, type 0x5a00) in the first PT_NOTE segment",
            ),
            Self::WrongEntryVersion { found: Some(v) } => write!(
                f,
                "hermit-entry entry version is {v}, the loader needs {}",
                super::HERMIT_ENTRY_VERSION
            ),
            Self::WrongEntryVersion { found: None } => {
                f.write_str("hermit-entry entry-version note has an empty descriptor")
            }
            Self::AbiVersion {
                found: AbiNote::Version(theirs),
            } => write!(
                f,
                "built against ABI {theirs}, this hypervisor speaks ABI {ours} (the image's ABI-version note); rebuild it with this hypervisor's SDK"
            ),
            Self::AbiVersion {
                found: AbiNote::Missing,
            } => write!(
                f,
                "no ABI-version note (TESSERA, type 1) in the first PT_NOTE segment, so the ABI it was built against is unknown; this hypervisor speaks ABI {ours}: build it with this hypervisor's SDK, whose entry! writes the note"
            ),
            Self::AbiVersion {
                found: AbiNote::BadDescriptor { len },
            } => write!(
                f,
                "the ABI-version note (TESSERA, type 1) has a {len}-byte descriptor, not a 4-byte version, so the ABI it was built against is unknown; this hypervisor speaks ABI {ours}"
            ),
            _ => return None,
        })
    }

    /// Problems with the dynamic section and relocations.
    fn fmt_dynamic(&self, f: &mut fmt::Formatter<'_>) -> Option<fmt::Result> {
        Some(match self {
            Self::MultipleDynamic => f.write_str("more than one PT_DYNAMIC segment"),
            Self::DynamicSizeNotMultiple { size } => write!(
                f,
                "PT_DYNAMIC size {size:#x} is not a multiple of 16 (the entry size)"
            ),
            Self::DynamicallyLinked => f.write_str("linked against shared libraries (DT_NEEDED)"),
            Self::UnsupportedDynamicTag { tag, value } => write!(
                f,
                "dynamic tag {tag:#x} (value {value:#x}) asks for relocations the loader does not apply"
            ),
            Self::IncompleteRela => f.write_str("DT_RELA and DT_RELASZ must come together"),
            Self::WrongRelaEntrySize { size } => {
                write!(f, "DT_RELAENT is {size}, ELF64 Rela entries are 24 bytes")
            }
            Self::RelaSizeNotMultiple { size } => write!(
                f,
                "DT_RELASZ {size:#x} is not a multiple of 24 (the Rela entry size)"
            ),
            Self::RelaNotInFile { vaddr, size } => write!(
                f,
                "relocation table ({size:#x} bytes at {vaddr:#x}) is not inside the file-backed part of a PT_LOAD segment"
            ),
            Self::UnsupportedRelocation { index, r_type } => write!(
                f,
                "relocation {index} has unsupported type {r_type} (only R_X86_64_RELATIVE, 8, is accepted)"
            ),
            Self::RelocationWithSymbol { index, symbol } => write!(
                f,
                "relocation {index} is R_X86_64_RELATIVE but names symbol {symbol}"
            ),
            Self::RelocationOutsideSegments { index, offset } => write!(
                f,
                "relocation {index} writes 8 bytes at {offset:#x}, outside every PT_LOAD segment"
            ),
            Self::RelocationInCode {
                index,
                offset,
                segment,
            } => write!(
                f,
                "relocation {index} writes 8 bytes at {offset:#x}, into executable segment {segment} (relocated code could hold VMFUNC bytes)"
            ),
            Self::RelocationAddendOutOfImage { index, addend } => write!(
                f,
                "relocation {index}'s addend {addend:#x} points outside the image"
            ),
            _ => return None,
        })
    }

    /// Problems with placing the image for a compartment.
    fn fmt_placement(&self, f: &mut fmt::Formatter<'_>) -> Option<fmt::Result> {
        Some(match self {
            Self::MalformedExport { index, defect } => write!(
                f,
                "export-table entry (note {index} of the first PT_NOTE segment) {defect}"
            ),
            Self::ExportNotExecutable { export, address } => write!(
                f,
                "export '{export}' of the export table is at {address:#x}, outside every executable segment"
            ),
            Self::MissingExport {
                compartment,
                export,
            } => write!(
                f,
                "the manifest declares export '{export}' of compartment '{compartment}', which the image's export table lacks: define it with the SDK's exports! (or correct the manifest's exports=)"
            ),
            Self::EntryNotExecutable { entry } => write!(
                f,
                "entry point {entry:#x} is outside every executable segment"
            ),
            Self::TooLarge { needed, available } => write!(
                f,
                "too large for its region: needs {needed} bytes, region holds {available}"
            ),
            Self::NotRelocatable => {
                f.write_str("not relocatable (ET_EXEC); build it with the Tessera SDK")
            }
            Self::VmfuncBytes { offset } => write!(
                f,
                "executable bytes at offset {offset:#x} from the image base are 0F 01 D4 (VMFUNC), which only a view's own gate slot may hold"
            ),
            Self::OutOfMemory { part, needed } => write!(
                f,
                "out of memory: {part} needs {needed} bytes the machine no longer has free"
            ),
            Self::Cpu { cpu, cpus } => write!(
                f,
                "its manifest places its main on vCPU {cpu} (cpu = {cpu}), but there are {cpus} vCPUs"
            ),
            _ => return None,
        })
    }
}
