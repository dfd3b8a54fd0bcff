//! The notes of the first `PT_NOTE` segment, found the way hermit-entry's loader finds
//! them: its entry-version note, and Tessera's ABI-version note.
//!
//! hermit-entry 0.10 (`elf.rs`, `NoteIterator`) reads only the *first* `PT_NOTE` segment
//! and walks it note by note, with offsets relative to each note's start aligned up to
//! that segment's `p_align`. Per note it reads a 12-byte header (stopping quietly when
//! fewer than 12 bytes remain or the header is not 4-byte aligned in memory), then
//! `name = &bytes[12..][..n_namesz - 1]` unwrapped through `str::from_utf8`, then the
//! descriptor and the padding after it, all by slicing. Each of those panics on a
//! malformed note: `n_namesz = 0`, a name or descriptor past the end, a name that is not
//! UTF-8, padding past the end, or a `p_align` that is not a power of two (`align_up`
//! asserts it). It walks the whole segment twice (for the GNU ABI tag and the Uhyve
//! interface note, which compartments do not carry) before looking for the note named
//! `HERMIT` of type `0x5a00`, then reads `desc[0]` (panicking on an empty descriptor) and
//! requires it to equal [`HERMIT_ENTRY_VERSION`].
//!
//! The same walk finds the ABI-version note (`tessera_abi::image`: name `TESSERA`, type
//! 1, a 4-byte little-endian version) that the SDK's `entry!` puts next to hermit-entry's
//! note, in the same segment. The first such note decides, as the first `HERMIT` note
//! does for the loader. It is checked before the entry version: an image built against
//! another ABI may differ in anything, and which ABI it was built for is what its author
//! needs to hear. Missing, malformed or naming another version than
//! [`ABI_VERSION`](tessera_abi::ABI_VERSION), the image is refused
//! ([`ImageProblem::AbiVersion`]): every image the SDK builds has the note, so an image
//! without one was built by an SDK from before the note (or without the SDK), and
//! nothing says which ABI it speaks. The walk also collects the export table (notes
//! `TESSERA` of type 2, `super::exports`).

use alloc::vec::Vec;
use core::fmt;

use tessera_abi::ABI_VERSION;
use tessera_abi::image::{NOTE_NAME, NT_ABI_VERSION, NT_EXPORT};

use super::elf::{self, ALIGN_NOTE, NHDR_SIZE, NoteHeader, PT_NOTE, ProgramHeader};
use super::exports::ExportNote;
use super::problem::{ImageProblem, Region};
use super::{HERMIT_ENTRY_VERSION, NT_HERMIT_ENTRY_VERSION};

/// The entry-version note's name (without its NUL).
const HERMIT_NAME: &[u8] = b"HERMIT";

/// What is wrong with one note of the first `PT_NOTE` segment (the loader would panic).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoteDefect {
    /// `n_namesz` is 0 (the loader computes `n_namesz - 1`).
    EmptyName,
    /// The name runs past the end of the segment.
    NameOutOfBounds,
    /// The name is not UTF-8 (the loader unwraps `str::from_utf8`).
    NameNotUtf8,
    /// The descriptor, or the padding after name or descriptor, runs past the segment.
    DescriptorOutOfBounds,
}

impl fmt::Display for NoteDefect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::EmptyName => "has an empty name (n_namesz = 0)",
            Self::NameOutOfBounds => "has a name that runs past the segment",
            Self::NameNotUtf8 => "has a name that is not UTF-8",
            Self::DescriptorOutOfBounds => "has a descriptor or padding that runs past the segment",
        })
    }
}

/// What an image's ABI-version note says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AbiNote {
    /// The first `PT_NOTE` segment has no note named `TESSERA` of type 1.
    Missing,
    /// The note's descriptor is not the 4-byte version.
    BadDescriptor {
        /// `n_descsz`.
        len: u32,
    },
    /// Built against this ABI version.
    Version(u32),
}

impl AbiNote {
    fn read(descriptor: &[u8]) -> Self {
        match <[u8; 4]>::try_from(descriptor) {
            Ok(version) => Self::Version(u32::from_le_bytes(version)),
            Err(_) => Self::BadDescriptor {
                len: descriptor.len() as u32,
            },
        }
    }
}

impl fmt::Display for AbiNote {
    /// The value of `image_abi=` on a `@@REJECT` line: the version, or `none`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Version(v) => write!(f, "{v}"),
            Self::Missing | Self::BadDescriptor { .. } => f.write_str("none"),
        }
    }
}

fn align_up(value: u64, align: u64) -> Option<u64> {
    value.checked_next_multiple_of(align)
}

/// One note's layout relative to its own start: where its descriptor starts and where the
/// next note starts. `None` if the loader would slice past `remaining`.
fn note_layout(header: &NoteHeader, align: u64, remaining: u64) -> Result<(u64, u64), NoteDefect> {
    let namesz = u64::from(header.namesz);
    if namesz == 0 {
        return Err(NoteDefect::EmptyName);
    }
    if NHDR_SIZE + namesz - 1 > remaining {
        return Err(NoteDefect::NameOutOfBounds);
    }
    let desc = align_up(NHDR_SIZE + namesz, align).ok_or(NoteDefect::DescriptorOutOfBounds)?;
    let desc_end = desc
        .checked_add(u64::from(header.descsz))
        .filter(|&end| end <= remaining)
        .ok_or(NoteDefect::DescriptorOutOfBounds)?;
    let next = align_up(desc_end, align)
        .filter(|&next| next <= remaining)
        .ok_or(NoteDefect::DescriptorOutOfBounds)?;
    Ok((desc, next))
}

fn slice(bytes: &[u8], start: u64, len: u64) -> Option<&[u8]> {
    let start = usize::try_from(start).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    bytes.get(start..end)
}

/// Checks that the loader walks the first `PT_NOTE` segment without panicking, that the
/// segment holds an ABI-version note naming this hypervisor's ABI, and an entry-version
/// note with the version the loader accepts. Returns the export-table notes (`TESSERA`,
/// type [`NT_EXPORT`]) for [`exports::read`](super::exports::read).
pub fn check<'a>(
    bytes: &'a [u8],
    phs: &[ProgramHeader],
) -> Result<Vec<ExportNote<'a>>, ImageProblem> {
    let (index, ph) = phs
        .iter()
        .enumerate()
        .find(|(_, ph)| ph.p_type == PT_NOTE)
        .ok_or(ImageProblem::NoNoteSegment)?;
    if !ph.p_align.is_power_of_two() {
        return Err(ImageProblem::AlignmentNotPowerOfTwo {
            index,
            align: ph.p_align,
        });
    }
    let segment = elf::region(bytes, Region::Notes, ph.p_offset, ph.p_filesz, 1)?;
    let len = segment.len() as u64;
    let mut pos = 0u64;
    let mut note = 0usize;
    let mut version: Option<Option<u8>> = None;
    let mut abi = AbiNote::Missing;
    let mut exports = Vec::new();
    while len - pos >= NHDR_SIZE && (ph.p_offset + pos) % ALIGN_NOTE == 0 {
        let malformed = |defect| ImageProblem::MalformedNote {
            index: note,
            defect,
        };
        let rest = slice(segment, pos, len - pos).unwrap_or_default();
        let header = NoteHeader::parse(rest).ok_or(malformed(NoteDefect::NameOutOfBounds))?;
        let (desc, next) = note_layout(&header, ph.p_align, len - pos).map_err(malformed)?;
        let name = slice(rest, NHDR_SIZE, u64::from(header.namesz) - 1)
            .ok_or(malformed(NoteDefect::NameOutOfBounds))?;
        if core::str::from_utf8(name).is_err() {
            return Err(malformed(NoteDefect::NameNotUtf8));
        }
        if version.is_none() && name == HERMIT_NAME && header.n_type == NT_HERMIT_ENTRY_VERSION {
            let descriptor = slice(rest, desc, u64::from(header.descsz)).unwrap_or_default();
            version = Some(descriptor.first().copied());
        }
        if abi == AbiNote::Missing
            && name == &NOTE_NAME[..NOTE_NAME.len() - 1]
            && header.n_type == NT_ABI_VERSION
        {
            abi = AbiNote::read(slice(rest, desc, u64::from(header.descsz)).unwrap_or_default());
        }
        if name == &NOTE_NAME[..NOTE_NAME.len() - 1] && header.n_type == NT_EXPORT {
            exports.push(ExportNote {
                index: note,
                vaddr: ph.p_vaddr.wrapping_add(pos + desc),
                descriptor: slice(rest, desc, u64::from(header.descsz)).unwrap_or_default(),
            });
        }
        pos += next;
        note += 1;
    }
    if abi != AbiNote::Version(ABI_VERSION) {
        return Err(ImageProblem::AbiVersion { found: abi });
    }
    match version {
        None => Err(ImageProblem::MissingEntryVersion),
        Some(Some(HERMIT_ENTRY_VERSION)) => Ok(exports),
        Some(found) => Err(ImageProblem::WrongEntryVersion { found }),
    }
}
