//! The entry-version note, the ABI-version note, and every note shape on which the
//! loader's iterator panics.

use alloc::vec::Vec;

use super::super::{AbiNote, ImageProblem, NoteDefect};
use super::{
    Image, PT_GNU_STACK, PT_NOTE, Ph, R, abi_note, accept, hermit_note, note, problem, sdk_notes,
};
use tessera_abi::ABI_VERSION;

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
    let abi = abi_note(ABI_VERSION);
    let build_id = note(4, 3, b"GNU\0", &[0xab; 20]);
    assert_eq!(
        problem(&with_notes(&[build_id, abi.clone()].concat())),
        ImageProblem::MissingEntryVersion
    );
    assert_eq!(
        problem(&with_notes(&abi)),
        ImageProblem::MissingEntryVersion
    );
    // Right name, wrong type; right type, wrong name.
    let wrong_type = note(7, 0x5a01, b"HERMIT\0", &[4]);
    assert_eq!(
        problem(&with_notes(&[wrong_type, abi.clone()].concat())),
        ImageProblem::MissingEntryVersion
    );
    let wrong_name = note(7, 0x5a00, b"HERMiT\0", &[4]);
    assert_eq!(
        problem(&with_notes(&[wrong_name, abi].concat())),
        ImageProblem::MissingEntryVersion
    );
}

#[test]
fn entry_version_note_after_other_notes() {
    let notes = [note(4, 3, b"GNU\0", &[0xab; 20]), sdk_notes()].concat();
    accept(&with_notes(&notes));
}

#[test]
fn only_the_first_note_segment_counts() {
    let build_id = note(4, 3, b"GNU\0", &[0xab; 8]);
    let mut image = with_notes(&[build_id.clone(), sdk_notes()].concat());
    // First PT_NOTE covers only the build id; a second one covers the SDK's notes.
    image.ph(PT_NOTE).filesz = build_id.len() as u64;
    let second = 0x400 + build_id.len() as u64;
    image
        .phdrs
        .push(Ph::new(PT_NOTE, R, second, second, 48, 48, 4));
    assert_eq!(
        problem(&image),
        ImageProblem::AbiVersion {
            found: AbiNote::Missing
        }
    );
    // With the ABI-version note in the first segment, the entry version is still missing.
    let mut image = with_notes(&[abi_note(ABI_VERSION), hermit_note(4)].concat());
    image.ph(PT_NOTE).filesz = 24;
    image
        .phdrs
        .push(Ph::new(PT_NOTE, R, 0x418, 0x418, 24, 24, 4));
    assert_eq!(problem(&image), ImageProblem::MissingEntryVersion);
}

#[test]
fn wrong_entry_version() {
    let abi = abi_note(ABI_VERSION);
    assert_eq!(
        problem(&with_notes(&[hermit_note(3), abi.clone()].concat())),
        ImageProblem::WrongEntryVersion { found: Some(3) }
    );
    let empty = note(7, 0x5a00, b"HERMIT\0", &[]);
    assert_eq!(
        problem(&with_notes(&[empty, abi.clone()].concat())),
        ImageProblem::WrongEntryVersion { found: None }
    );
    // The first entry-version note decides, as in the loader.
    let two = [hermit_note(5), hermit_note(4), abi].concat();
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
    // SDK's notes after it are never seen.
    let odd = note(3, 1, b"AB\0", &[]); // 12 + 3 = 15 bytes, no padding with p_align 1
    let mut notes = odd[..15].to_vec();
    notes.extend_from_slice(&sdk_notes());
    let mut image = with_notes(&notes);
    image.ph(PT_NOTE).align = 1;
    assert_eq!(
        problem(&image),
        ImageProblem::AbiVersion {
            found: AbiNote::Missing
        }
    );
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

fn abi_problem(found: AbiNote) -> ImageProblem {
    ImageProblem::AbiVersion { found }
}

#[test]
fn abi_note_naming_another_version() {
    for other in [0, 1, ABI_VERSION + 1, u32::MAX] {
        let notes = [hermit_note(4), abi_note(other)].concat();
        let found = problem(&with_notes(&notes));
        assert_eq!(found, abi_problem(AbiNote::Version(other)));
        assert_eq!(
            alloc::format!("{found}"),
            alloc::format!(
                "built against ABI {other}, this hypervisor speaks ABI {ABI_VERSION} (the image's ABI-version note); rebuild it with this hypervisor's SDK"
            )
        );
    }
}

#[test]
fn abi_note_missing() {
    let found = problem(&with_notes(&hermit_note(4)));
    assert_eq!(found, abi_problem(AbiNote::Missing));
    let message = alloc::format!("{found}");
    assert!(
        message.starts_with("no ABI-version note (TESSERA, type 1)")
            && message.contains(&alloc::format!("this hypervisor speaks ABI {ABI_VERSION}")),
        "{message}"
    );
    // Right name, wrong type; right type, wrong name (or its case, or its length).
    let version = ABI_VERSION.to_le_bytes();
    for near_miss in [
        note(8, 2, b"TESSERA\0", &version),
        note(8, 1, b"TESSERa\0", &version),
        note(7, 1, b"TESSER\0", &version),
        note(9, 1, b"TESSERA\0\0", &version),
        note(7, 0x5a00, b"HERMIT\0", &version),
    ] {
        let notes = [hermit_note(4), near_miss].concat();
        assert_eq!(problem(&with_notes(&notes)), abi_problem(AbiNote::Missing));
    }
}

#[test]
fn abi_note_with_a_descriptor_that_is_not_a_version() {
    for desc in [
        &[][..],
        &[2][..],
        &[2, 0, 0][..],
        &[2, 0, 0, 0, 0][..],
        &[2; 8][..],
    ] {
        let notes = [hermit_note(4), note(8, 1, b"TESSERA\0", desc)].concat();
        let found = problem(&with_notes(&notes));
        assert_eq!(
            found,
            abi_problem(AbiNote::BadDescriptor {
                len: desc.len() as u32
            })
        );
        assert!(alloc::format!("{found}").contains("-byte descriptor, not a 4-byte version"));
    }
}

#[test]
fn the_first_abi_note_decides_and_order_does_not_matter() {
    let (ours, old) = (abi_note(ABI_VERSION), abi_note(ABI_VERSION - 1));
    let first_old = [old.clone(), ours.clone(), hermit_note(4)].concat();
    assert_eq!(
        problem(&with_notes(&first_old)),
        abi_problem(AbiNote::Version(ABI_VERSION - 1))
    );
    accept(&with_notes(&[ours.clone(), old, hermit_note(4)].concat()));
    // Before the entry-version note, or after other notes: accepted alike.
    accept(&with_notes(&[ours, hermit_note(4)].concat()));
    let build_id = note(4, 3, b"GNU\0", &[0xab; 20]);
    accept(&with_notes(
        &[hermit_note(4), build_id, abi_note(ABI_VERSION)].concat(),
    ));
}

#[test]
fn the_abi_version_is_judged_before_the_entry_version() {
    // An image from another ABI may carry another hermit-entry version too: the ABI is
    // what its author needs to hear about.
    let notes = [hermit_note(5), abi_note(ABI_VERSION + 1)].concat();
    assert_eq!(
        problem(&with_notes(&notes)),
        abi_problem(AbiNote::Version(ABI_VERSION + 1))
    );
}

#[test]
fn abi_reject_lines_carry_both_versions() {
    let line = |found| {
        super::super::ImageError {
            module: "stale".into(),
            problem: abi_problem(found),
        }
        .reject_line()
    };
    assert!(
        line(AbiNote::Version(1)).starts_with(&alloc::format!(
            "@@REJECT module=stale problem=abi-version image_abi=1 hypervisor_abi={ABI_VERSION} message=module%20'stale':%20built%20against%20ABI%201,%20this%20hypervisor%20speaks%20ABI%20{ABI_VERSION}%20"
        )),
        "{}",
        line(AbiNote::Version(1))
    );
    for found in [AbiNote::Missing, AbiNote::BadDescriptor { len: 0 }] {
        assert!(line(found).starts_with(&alloc::format!(
            "@@REJECT module=stale problem=abi-version image_abi=none hypervisor_abi={ABI_VERSION} message="
        )));
    }
}

#[test]
fn typed_call_notes_and_unknown_tessera_types_are_ignored() {
    // What `interface!` adds (docs/images.md "Imports and signatures"): a signature note
    // next to the export table and import notes; the validator walks them by structure
    // and skips them, as any TESSERA note type it does not know.
    use tessera_abi::image::{NT_IMPORT, NT_SIGNATURE};
    let fingerprint = 0x0123_4567_89ab_cdefu64.to_le_bytes();
    let signature = note(
        8,
        NT_SIGNATURE,
        b"TESSERA\0",
        &[&fingerprint[..], b"get"].concat(),
    );
    let import = note(
        8,
        NT_IMPORT,
        b"TESSERA\0",
        &[&fingerprint[..], b"store\0get"].concat(),
    );
    let future = note(8, 0x7fff, b"TESSERA\0", &[1, 2, 3]);
    accept(&with_notes(
        &[signature, sdk_notes(), import, future].concat(),
    ));
}
