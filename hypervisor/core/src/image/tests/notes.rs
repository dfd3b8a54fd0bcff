//! The entry-version note, and every note shape on which the loader's iterator panics.

use alloc::vec::Vec;

use super::super::{ImageProblem, NoteDefect};
use super::{Image, PT_GNU_STACK, PT_NOTE, Ph, R, accept, hermit_note, note, problem};

/// An image whose first PT_NOTE segment holds exactly `notes`.
fn with_notes(notes: &[u8]) -> Image {
    let mut image = Image::valid();
    image.notes = notes.to_vec();
    image.ph(PT_NOTE).filesz = notes.len() as u64;
    image.ph(PT_NOTE).memsz = notes.len() as u64;
    image
}

fn malformed(index: usize, defect: NoteDefect) -> ImageProblem {
    ImageProblem::MalformedNote { index, defect }
}

#[test]
fn no_note_segment() {
    let mut image = Image::valid();
    image.ph(PT_NOTE).p_type = PT_GNU_STACK;
    assert_eq!(problem(&image), ImageProblem::NoNoteSegment);
}

#[test]
fn missing_entry_version_note() {
    let build_id = note(4, 3, b"GNU\0", &[0xab; 20]);
    assert_eq!(
        problem(&with_notes(&build_id)),
        ImageProblem::MissingEntryVersion
    );
    assert_eq!(problem(&with_notes(&[])), ImageProblem::MissingEntryVersion);
    // Right name, wrong type; right type, wrong name.
    let wrong_type = note(7, 0x5a01, b"HERMIT\0", &[4]);
    assert_eq!(
        problem(&with_notes(&wrong_type)),
        ImageProblem::MissingEntryVersion
    );
    let wrong_name = note(7, 0x5a00, b"HERMiT\0", &[4]);
    assert_eq!(
        problem(&with_notes(&wrong_name)),
        ImageProblem::MissingEntryVersion
    );
}

#[test]
fn entry_version_note_after_other_notes() {
    let notes = [note(4, 3, b"GNU\0", &[0xab; 20]), hermit_note(4)].concat();
    accept(&with_notes(&notes));
}

#[test]
fn only_the_first_note_segment_counts() {
    let build_id = note(4, 3, b"GNU\0", &[0xab; 8]);
    let mut image = with_notes(&[build_id.clone(), hermit_note(4)].concat());
    // First PT_NOTE covers only the build id; a second one covers the entry version.
    image.ph(PT_NOTE).filesz = build_id.len() as u64;
    let second = 0x400 + build_id.len() as u64;
    image
        .phdrs
        .push(Ph::new(PT_NOTE, R, second, second, 24, 24, 4));
    assert_eq!(problem(&image), ImageProblem::MissingEntryVersion);
}

#[test]
fn wrong_entry_version() {
    assert_eq!(
        problem(&with_notes(&hermit_note(3))),
        ImageProblem::WrongEntryVersion { found: Some(3) }
    );
    let empty = note(7, 0x5a00, b"HERMIT\0", &[]);
    assert_eq!(
        problem(&with_notes(&empty)),
        ImageProblem::WrongEntryVersion { found: None }
    );
    // The first entry-version note decides, as in the loader.
    let two = [hermit_note(5), hermit_note(4)].concat();
    assert_eq!(
        problem(&with_notes(&two)),
        ImageProblem::WrongEntryVersion { found: Some(5) }
    );
}

#[test]
fn empty_name() {
    // 12 zero bytes after the note: the loader reads a header with n_namesz = 0.
    let notes = [hermit_note(4), Vec::from([0u8; 12])].concat();
    assert_eq!(
        problem(&with_notes(&notes)),
        malformed(1, NoteDefect::EmptyName)
    );
}

#[test]
fn name_out_of_bounds() {
    let mut n = hermit_note(4);
    n[0] = 200; // n_namesz
    assert_eq!(
        problem(&with_notes(&n)),
        malformed(0, NoteDefect::NameOutOfBounds)
    );
}

#[test]
fn name_not_utf8() {
    let bad = note(4, 1, b"\xff\xfeA\0", &[1]);
    let notes = [hermit_note(4), bad].concat();
    assert_eq!(
        problem(&with_notes(&notes)),
        malformed(1, NoteDefect::NameNotUtf8)
    );
}

#[test]
fn descriptor_or_padding_out_of_bounds() {
    let mut n = hermit_note(4);
    n[4] = 5; // n_descsz: 5 bytes from offset 20, segment is 24
    assert_eq!(
        problem(&with_notes(&n)),
        malformed(0, NoteDefect::DescriptorOutOfBounds)
    );
    // Descriptor fits, padding after it does not: the segment ends at byte 21.
    let n = hermit_note(4);
    assert_eq!(
        problem(&with_notes(&n[..21])),
        malformed(0, NoteDefect::DescriptorOutOfBounds)
    );
    // A huge p_align pushes the descriptor past the end.
    let mut image = with_notes(&hermit_note(4));
    image.ph(PT_NOTE).align = 1 << 40;
    assert_eq!(
        problem(&image),
        malformed(0, NoteDefect::DescriptorOutOfBounds)
    );
}

#[test]
fn note_alignment_must_be_a_power_of_two() {
    // p_align 0 is fine for other segments but the loader's align_up asserts on it.
    let mut image = Image::valid();
    image.ph(PT_NOTE).align = 0;
    assert_eq!(
        problem(&image),
        ImageProblem::AlignmentNotPowerOfTwo { index: 4, align: 0 }
    );
}

#[test]
fn misaligned_note_ends_the_walk() {
    // A note header not 4-byte aligned in memory ends the loader's walk quietly, so the
    // entry-version note after it is never seen.
    let odd = note(3, 1, b"AB\0", &[]); // 12 + 3 = 15 bytes, no padding with p_align 1
    let mut notes = odd[..15].to_vec();
    notes.extend_from_slice(&hermit_note(4));
    let mut image = with_notes(&notes);
    image.ph(PT_NOTE).align = 1;
    assert_eq!(problem(&image), ImageProblem::MissingEntryVersion);
}

#[test]
fn note_segment_out_of_bounds() {
    let mut image = Image::valid();
    image.ph(PT_NOTE).filesz = 0x10_0000;
    // The generic segment check catches it before the note walk does.
    assert!(matches!(
        problem(&image),
        ImageProblem::SegmentOutOfBounds { index: 4, .. }
    ));
}
