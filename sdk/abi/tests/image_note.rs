//! The ABI-version note's bytes are the published layout (docs/images.md): images built
//! today must stay readable by the validator of every later hypervisor, which reads the
//! note to say which version an image was built against.

use tessera_abi::image::{AbiVersionNote, NOTE_NAME, NOTE_SECTION, NOTE_SIZE, NT_ABI_VERSION};

#[test]
fn the_note_is_the_published_24_bytes() {
    let note = AbiVersionNote::new(0x0102_0304);
    let mut want = Vec::new();
    want.extend_from_slice(&8u32.to_le_bytes()); // n_namesz: "TESSERA\0"
    want.extend_from_slice(&4u32.to_le_bytes()); // n_descsz
    want.extend_from_slice(&1u32.to_le_bytes()); // n_type
    want.extend_from_slice(b"TESSERA\0");
    want.extend_from_slice(&[4, 3, 2, 1]); // the version, little-endian
    assert_eq!(note.bytes().as_slice(), want.as_slice());
    assert_eq!(NOTE_SIZE, 24);
    assert_eq!(NOTE_NAME, b"TESSERA\0");
    assert_eq!(NT_ABI_VERSION, 1);
    assert_eq!(NOTE_SECTION, ".note.tessera.abi-version");
    assert_eq!(core::mem::align_of::<AbiVersionNote>(), 4);
}

#[test]
fn the_current_note_names_the_current_version() {
    let note = AbiVersionNote::new(tessera_abi::ABI_VERSION);
    assert_eq!(note.bytes()[20..], tessera_abi::ABI_VERSION.to_le_bytes());
}
