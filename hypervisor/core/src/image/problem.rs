//! Why an image is refused. Every message names the structure, index and value at fault.

use alloc::string::String;
use core::fmt;

pub use super::exports::ExportDefect;
pub use super::notes::{AbiNote, NoteDefect};

/// A rejected image: which module, and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageError {
    /// The module's name (its multiboot command line).
    pub module: String,
    /// The first problem found.
    pub problem: ImageProblem,
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "module '{}': {}", self.module, self.problem)
    }
}

impl core::error::Error for ImageError {}

/// A table or segment of the file that hermit-entry's loader reads in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Region {
    /// The program header table (`e_phoff`, `e_phnum`).
    ProgramHeaders,
    /// The section header table (`e_shoff`, `e_shnum`).
    SectionHeaders,
    /// The first `PT_NOTE` segment.
    Notes,
    /// The first `PT_DYNAMIC` segment.
    Dynamic,
    /// The `DT_RELA` relocation table.
    Relocations,
    /// The first `SHT_DYNSYM` section.
    DynamicSymbols,
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ProgramHeaders => "program headers",
            Self::SectionHeaders => "section headers",
            Self::Notes => "the first PT_NOTE segment",
            Self::Dynamic => "the PT_DYNAMIC segment",
            Self::Relocations => "the DT_RELA relocation table",
            Self::DynamicSymbols => "the .dynsym section",
        })
    }
}

/// Everything [`validate`](super::validate) refuses. Segment indices are program-header
/// indices; relocation indices count entries of the `DT_RELA` table.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImageProblem {
    /// The bytes do not start at an 8-byte-aligned address; the loader reads its ELF
    /// structures in place and fails on misaligned ones.
    BufferMisaligned {
        /// The buffer's address modulo 8.
        misalignment: u8,
    },
    /// Shorter than an ELF64 file header.
    TruncatedHeader {
        /// The file length.
        len: u64,
    },
    /// No `\x7fELF` magic.
    NotElf,
    /// `EI_CLASS` is not `ELFCLASS64`.
    WrongClass {
        /// The class byte found.
        class: u8,
    },
    /// `EI_DATA` is not `ELFDATA2LSB`.
    WrongEndianness {
        /// The data-encoding byte found.
        encoding: u8,
    },
    /// `e_machine` is not `EM_X86_64`.
    WrongMachine {
        /// The machine found.
        machine: u16,
    },
    /// `e_type` is neither `ET_DYN` nor `ET_EXEC`.
    WrongType {
        /// The type found.
        e_type: u16,
    },
    /// `e_phentsize` or `e_shentsize` differs from the ELF64 size the loader assumes.
    WrongEntrySize {
        /// The table.
        region: Region,
        /// The entry size in the header.
        size: u16,
        /// The ELF64 entry size.
        expected: u16,
    },
    /// A table or segment the loader reads lies (partly) outside the file.
    OutOfBounds {
        /// What.
        region: Region,
        /// Its file offset.
        offset: u64,
        /// Its length in bytes.
        len: u64,
        /// The file length.
        file_len: u64,
    },
    /// A table or segment the loader reads in place is not aligned for its entries.
    Misaligned {
        /// What.
        region: Region,
        /// Its file offset.
        offset: u64,
        /// The alignment the loader needs.
        align: u64,
    },
    /// A program header type the hypervisor does not support.
    UnsupportedSegmentType {
        /// Program header index.
        index: usize,
        /// `p_type`.
        p_type: u32,
    },
    /// A segment's file range lies (partly) outside the file.
    SegmentOutOfBounds {
        /// Program header index.
        index: usize,
        /// `p_offset`.
        offset: u64,
        /// `p_filesz`.
        filesz: u64,
        /// The file length.
        file_len: u64,
    },
    /// A segment's address range wraps around the 64-bit address space.
    SegmentWraps {
        /// Program header index.
        index: usize,
    },
    /// `p_filesz > p_memsz`.
    FileSizeExceedsMemSize {
        /// Program header index.
        index: usize,
        /// `p_filesz`.
        filesz: u64,
        /// `p_memsz`.
        memsz: u64,
    },
    /// A `PT_LOAD` segment with `p_memsz = 0`.
    EmptySegment {
        /// Program header index.
        index: usize,
    },
    /// A `PT_LOAD` segment whose permissions a second-level page table cannot express
    /// (no access at all, or write without read).
    UnmappablePermissions {
        /// Program header index.
        index: usize,
        /// `p_flags`.
        flags: u32,
    },
    /// A `PT_LOAD` segment that is both writable and executable.
    WritableAndExecutable {
        /// Program header index.
        index: usize,
    },
    /// `p_align` is not 0 or a power of two (the loader's `align_up` panics on it).
    AlignmentNotPowerOfTwo {
        /// Program header index.
        index: usize,
        /// `p_align`.
        align: u64,
    },
    /// A `PT_LOAD` segment asks for more alignment than [`MAX_SEGMENT_ALIGN`](super::MAX_SEGMENT_ALIGN).
    AlignmentTooLarge {
        /// Program header index.
        index: usize,
        /// `p_align`.
        align: u64,
    },
    /// `p_vaddr` and `p_offset` differ modulo `p_align` (gABI "Program Header").
    AddressOffsetMismatch {
        /// Program header index.
        index: usize,
        /// `p_vaddr`.
        vaddr: u64,
        /// `p_offset`.
        offset: u64,
        /// `p_align`.
        align: u64,
    },
    /// The first `PT_LOAD` segment of a relocatable image does not start at address 0
    /// (the loader indexes its memory by `p_vaddr`), or that of a fixed-address image is
    /// not page-aligned.
    BadImageBase {
        /// Program header index.
        index: usize,
        /// `p_vaddr`.
        vaddr: u64,
        /// Whether the image is relocatable (`ET_DYN`).
        relocatable: bool,
    },
    /// No `PT_LOAD` segment.
    NoLoadSegment,
    /// `PT_LOAD` headers are not in ascending address order (the loader takes the first
    /// and last as the image's bounds).
    SegmentsOutOfOrder {
        /// Program header index of the segment that starts below its predecessor.
        index: usize,
    },
    /// Two `PT_LOAD` segments overlap in memory.
    OverlappingSegments {
        /// Program header index of the first.
        first: usize,
        /// Program header index of the second.
        second: usize,
    },
    /// Two `PT_LOAD` segments with different permissions share a page.
    SharedPage {
        /// Program header index of the first.
        first: usize,
        /// Program header index of the second.
        second: usize,
        /// The shared page's offset from the image base.
        page_offset: u64,
    },
    /// No `PT_NOTE` segment at all.
    NoNoteSegment,
    /// A note of the first `PT_NOTE` segment would make the loader panic.
    MalformedNote {
        /// Index of the note within the segment.
        index: usize,
        /// What is wrong.
        defect: NoteDefect,
    },
    /// The first `PT_NOTE` segment holds no hermit-entry entry-version note.
    MissingEntryVersion,
    /// The entry-version note carries a version the loader does not accept (`None`: an
    /// empty descriptor, on which the loader panics).
    WrongEntryVersion {
        /// The version byte found.
        found: Option<u8>,
    },
    /// The image's ABI-version note (`tessera_abi::image`) is missing from the first
    /// `PT_NOTE` segment or names an ABI other than this hypervisor's `ABI_VERSION`.
    AbiVersion {
        /// What the image says.
        found: AbiNote,
    },
    /// More than one `PT_DYNAMIC` segment (the loader reads only the first).
    MultipleDynamic,
    /// The `PT_DYNAMIC` size is not a whole number of entries.
    DynamicSizeNotMultiple {
        /// `p_filesz`.
        size: u64,
    },
    /// `DT_NEEDED`: linked against shared libraries.
    DynamicallyLinked,
    /// A dynamic tag that asks for relocations the loader never applies (`DT_REL`,
    /// `DT_JMPREL`, `DT_RELR`, ...) or that fails its assertion (`DT_RELCOUNT` ≠ 0).
    UnsupportedDynamicTag {
        /// `d_tag`.
        tag: u64,
        /// `d_val`.
        value: u64,
    },
    /// `DT_RELA` without `DT_RELASZ`, or the reverse.
    IncompleteRela,
    /// `DT_RELAENT` is not 24.
    WrongRelaEntrySize {
        /// `DT_RELAENT`.
        size: u64,
    },
    /// `DT_RELASZ` is not a multiple of 24.
    RelaSizeNotMultiple {
        /// `DT_RELASZ`.
        size: u64,
    },
    /// `DT_RELA` does not point into the file-backed part of a `PT_LOAD` segment.
    RelaNotInFile {
        /// `DT_RELA`.
        vaddr: u64,
        /// `DT_RELASZ`.
        size: u64,
    },
    /// A relocation type other than `R_X86_64_RELATIVE`.
    UnsupportedRelocation {
        /// Relocation index.
        index: usize,
        /// Its type.
        r_type: u32,
    },
    /// An `R_X86_64_RELATIVE` relocation that names a symbol.
    RelocationWithSymbol {
        /// Relocation index.
        index: usize,
        /// The symbol index.
        symbol: u32,
    },
    /// A relocation whose 8-byte target is not inside one `PT_LOAD` segment.
    RelocationOutsideSegments {
        /// Relocation index.
        index: usize,
        /// `r_offset`.
        offset: u64,
    },
    /// A relocation that writes into a page of an executable segment: the value it writes
    /// could create `0F 01 D4` in code (DESIGN §6 property 2).
    RelocationInCode {
        /// Relocation index.
        index: usize,
        /// `r_offset`.
        offset: u64,
        /// Program header index of the executable segment.
        segment: usize,
    },
    /// A relocation whose addend points outside the image.
    RelocationAddendOutOfImage {
        /// Relocation index.
        index: usize,
        /// `r_addend`.
        addend: i64,
    },
    /// The entry point is not in the file-backed part of an executable segment.
    EntryNotExecutable {
        /// `e_entry`.
        entry: u64,
    },
    /// An entry of the export table (`super::exports`) the gate could not use.
    MalformedExport { index: usize, defect: ExportDefect },
    /// An export-table entry's address is outside every executable segment's file bytes.
    ExportNotExecutable { export: String, address: u64 },
    /// The manifest declares an export of `compartment` that the image's table lacks.
    MissingExport { compartment: String, export: String },
    /// The image does not fit the region it is given.
    TooLarge {
        /// Bytes the image spans (page-rounded).
        needed: u64,
        /// Bytes of the region.
        available: u64,
    },
    /// A fixed-address (`ET_EXEC`) image: compartments are relocated to the region the
    /// layout planner gives them.
    NotRelocatable,
    /// The executable memory of the image as loaded holds the bytes `0F 01 D4` (VMFUNC):
    /// only a view's own gate slot may (DESIGN §6 property 2).
    VmfuncBytes {
        /// Offset of the first byte of the first occurrence from the image base.
        offset: u64,
    },
    /// The machine has no free memory for this image: loading it would need `needed`
    /// more bytes (one contiguous run for `part`).
    OutOfMemory {
        /// What could not be allocated.
        part: MemoryPart,
        /// Bytes asked for.
        needed: u64,
    },
    /// Its manifest places its `main` on vCPU `cpu` (`cpu = K`), but the world is built
    /// for `cpus` vCPUs.
    Cpu { cpu: u32, cpus: usize },
}

/// What loading an image allocates, besides its view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryPart {
    /// Frames for the image's span.
    Image,
    /// Frames for its stack.
    Stack,
    /// Frames for its heap (manifest `heap=`).
    Heap,
    /// Second-level table frames to map the image, the heap and the stack.
    Mappings,
}

impl fmt::Display for MemoryPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Image => "its image",
            Self::Stack => "its stack",
            Self::Heap => "its heap",
            Self::Mappings => "the tables that map it",
        })
    }
}
