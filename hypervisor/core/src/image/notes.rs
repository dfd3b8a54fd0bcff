//! The hermit-entry entry-version note, found the way the loader finds it.
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

use super::elf::{self, ALIGN_NOTE, NHDR_SIZE, NoteHeader, PT_NOTE, ProgramHeader};
use super::problem::{ImageProblem, NoteDefect, Region};
use super::{HERMIT_ENTRY_VERSION, NT_HERMIT_ENTRY_VERSION};

/// The entry-version note's name (without its NUL).
const HERMIT_NAME: &[u8] = b"HERMIT";

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

/// Checks that the loader walks the first `PT_NOTE` segment without panicking and finds
/// an entry-version note with the version it accepts.
pub fn check(bytes: &[u8], phs: &[ProgramHeader]) -> Result<(), ImageProblem> {
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
        pos += next;
        note += 1;
    }
    match version {
        None => Err(ImageProblem::MissingEntryVersion),
        Some(Some(HERMIT_ENTRY_VERSION)) => Ok(()),
        Some(found) => Err(ImageProblem::WrongEntryVersion { found }),
    }
}
