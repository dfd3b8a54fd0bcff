//! What a compartment image tells the hypervisor about itself before any of its code runs
//! (docs/images.md).
//!
//! Every image the SDK builds carries, next to hermit-entry's entry-version note, the
//! **ABI-version note**: an ELF note (gABI "Note Section") in section [`NOTE_SECTION`],
//! owner name [`NOTE_NAME`], type [`NT_ABI_VERSION`], whose 4-byte descriptor is the
//! [`ABI_VERSION`](crate::ABI_VERSION) the image was built against, little-endian. The
//! hypervisor reads it from the first `PT_NOTE` segment (where hermit-entry's loader
//! reads its own note) and refuses an image whose note is missing or names another
//! version (`@@REJECT problem=abi-version`).
//!
//! Byte layout ([`AbiVersionNote::new`]), 24 bytes, 4-byte aligned:
//!
//! | offset | bytes | field | value |
//! |---|---|---|---|
//! | 0 | 4 | `n_namesz` | 8 (`"TESSERA\0"`) |
//! | 4 | 4 | `n_descsz` | 4 |
//! | 8 | 4 | `n_type` | [`NT_ABI_VERSION`] |
//! | 12 | 8 | name | `"TESSERA\0"` (already a multiple of 4: no padding) |
//! | 20 | 4 | descriptor | the ABI version, u32 little-endian |
//!
//! The **export table** is more notes of the same owner in the same segment, one per
//! export, type [`NT_EXPORT`], written by the SDK's `exports!` into section
//! [`EXPORT_SECTION`]. The hypervisor reads the table at load, from bytes, and writes
//! every export the manifest declares into the view's info page: no guest code registers
//! anything. Descriptor ([`EXPORT_HEADER`] bytes, then the name), 4-byte aligned:
//!
//! | offset | bytes | field | value |
//! |---|---|---|---|
//! | 0 | 4 | format | [`EXPORT_FORMAT`], u32 little-endian |
//! | 4 | 4 | delta | the function's address minus this field's address, i32 little-endian |
//! | 8 | `n_descsz` − 8 | name | the export's name, UTF-8, 1–64 bytes, no NUL |
//!
//! The delta is resolved by the linker (a PC-relative `R_X86_64_PC32` between two places
//! of one image), so the table needs no run-time relocation and means the same at every
//! load address: the function's image offset is the field's image offset plus the delta.

/// The note type of one export-table entry (owner `TESSERA`).
pub const NT_EXPORT: u32 = 2;
/// The format of an export-table descriptor this ABI defines; a validator refuses an
/// entry of a format it does not know.
pub const EXPORT_FORMAT: u32 = 1;
/// Bytes of an export-table descriptor before the name: format and delta.
pub const EXPORT_HEADER: usize = 8;
/// The section the SDK puts the export-table notes in (4-byte aligned, `SHT_NOTE`, so
/// the linker puts it into the same `PT_NOTE` segment as the other notes).
pub const EXPORT_SECTION: &str = ".note.tessera.exports";

/// The note type of a typed export's signature (owner `TESSERA`), next to its
/// [`NT_EXPORT`] note in [`EXPORT_SECTION`]: descriptor = the signature fingerprint (u64
/// little-endian, FNV-1a of the interface declaration's tokens), then the export's name.
/// The hypervisor ignores it; `cargo xtask` checks imports against it.
pub const NT_SIGNATURE: u32 = 3;
/// The note type of one import (owner `TESSERA`), in [`IMPORT_SECTION`]: descriptor =
/// the fingerprint (u64 little-endian), the callee compartment's name and a NUL, then the
/// export's name. Written by each typed client stub the code uses; the hypervisor ignores
/// it (it walks notes by structure and skips types it does not know); `cargo xtask`
/// checks it against the manifest and the callee's image.
pub const NT_IMPORT: u32 = 4;
/// Bytes before the names in an [`NT_SIGNATURE`] or [`NT_IMPORT`] descriptor.
pub const FINGERPRINT_SIZE: usize = 8;
/// The section the SDK puts import notes in (4-byte aligned `SHT_NOTE`, so it lands in
/// the same `PT_NOTE` segment as the others).
pub const IMPORT_SECTION: &str = ".note.tessera.imports";

/// The section the SDK puts the note in. Its alignment (4) equals that of hermit-entry's
/// `.note.hermit.entry-version`, so the linker (rust-lld) puts both notes into one
/// `PT_NOTE` segment.
pub const NOTE_SECTION: &str = ".note.tessera.abi-version";
/// The note's owner name, NUL included (`n_namesz` = 8).
pub const NOTE_NAME: &[u8; 8] = b"TESSERA\0";
/// The note's type (types are scoped by the owner name, gABI "Note Section").
pub const NT_ABI_VERSION: u32 = 1;
/// Bytes of the descriptor: one u32.
pub const NOTE_DESC_SIZE: u32 = 4;
/// Bytes of the whole note: 12-byte header, name, descriptor.
pub const NOTE_SIZE: usize = 24;

/// The ABI-version note as it lies in the image, 4-byte aligned like every ELF note.
#[repr(C, align(4))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AbiVersionNote([u8; NOTE_SIZE]);

impl AbiVersionNote {
    /// The note saying "built against ABI `version`".
    #[must_use]
    pub const fn new(version: u32) -> Self {
        let mut bytes = [0u8; NOTE_SIZE];
        let fields = [
            (0, (NOTE_NAME.len() as u32).to_le_bytes()),
            (4, NOTE_DESC_SIZE.to_le_bytes()),
            (8, NT_ABI_VERSION.to_le_bytes()),
            (20, version.to_le_bytes()),
        ];
        let mut f = 0;
        while f < fields.len() {
            let (at, value) = fields[f];
            let mut i = 0;
            while i < 4 {
                bytes[at + i] = value[i];
                i += 1;
            }
            f += 1;
        }
        let mut i = 0;
        while i < NOTE_NAME.len() {
            bytes[12 + i] = NOTE_NAME[i];
            i += 1;
        }
        Self(bytes)
    }

    /// The note's bytes.
    #[must_use]
    pub const fn bytes(&self) -> &[u8; NOTE_SIZE] {
        &self.0
    }
}

const _: () = assert!(core::mem::size_of::<AbiVersionNote>() == NOTE_SIZE);
const _: () = assert!(core::mem::align_of::<AbiVersionNote>() == 4);
