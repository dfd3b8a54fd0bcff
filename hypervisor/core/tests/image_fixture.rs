//! Image validation against a real compartment: `examples/hello` as the SDK builds it
//! (`tests/fixtures/elf/hello.elf`, see the README next to it).

use tessera_abi::ABI_VERSION;
use tessera_core::image::{
    AbiNote, ImageLimits, ImagePlan, ImageProblem, PAGE_SIZE, Perms, SegmentPlan, validate,
};

fn fixture() -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/elf/hello.elf");
    std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `bytes` copied to an 8-byte-aligned address, as a multiboot module is placed.
fn aligned(bytes: &[u8]) -> (Vec<u8>, usize) {
    let mut storage = vec![0u8; bytes.len() + 8];
    let start = (8 - storage.as_ptr().addr() % 8) % 8;
    storage[start..start + bytes.len()].copy_from_slice(bytes);
    (storage, start)
}

fn check(bytes: &[u8], max_span: u64) -> Result<ImagePlan, ImageProblem> {
    let (storage, start) = aligned(bytes);
    validate(
        "hello",
        &storage[start..start + bytes.len()],
        &ImageLimits { max_span },
    )
    .map_err(|e| e.problem)
}

#[test]
fn hello_is_accepted_with_the_plan_its_program_headers_describe() {
    let plan = check(&fixture(), 1 << 20).unwrap_or_else(|p| panic!("hello rejected: {p}"));
    // readelf -l: R 0x0+0x1b74, R-X 0x2b80+0x33ff, RW- 0x6f80+0x1080, RW- 0x8448+0x10041.
    assert_eq!(
        plan.segments,
        [
            SegmentPlan {
                offset: 0,
                len: 0x2000,
                perms: Perms::R
            },
            SegmentPlan {
                offset: 0x2000,
                len: 0x4000,
                perms: Perms::RX
            },
            SegmentPlan {
                offset: 0x6000,
                len: 0x2000,
                perms: Perms::RW
            },
            SegmentPlan {
                offset: 0x8000,
                len: 0x11000,
                perms: Perms::RW
            },
        ]
    );
    assert_eq!(plan.entry_offset, 0x2c50);
    assert_eq!(plan.span, 0x19000);
    assert_eq!(plan.mem_size, 0x18489);
    assert_eq!(plan.fixed_base, None);
    assert_eq!(plan.align, PAGE_SIZE);
}

#[test]
fn hello_too_large_for_a_small_region() {
    let err = check(&fixture(), 0x10000).unwrap_err();
    assert_eq!(
        err,
        ImageProblem::TooLarge {
            needed: 0x19000,
            available: 0x10000
        }
    );
}

#[test]
fn hello_truncated_anywhere_is_rejected() {
    let bytes = fixture();
    // The section header table ends the file, so every proper prefix cuts into
    // something the loader reads.
    for len in (0..bytes.len()).step_by(7) {
        assert!(
            check(&bytes[..len], 1 << 20).is_err(),
            "prefix of {len} bytes accepted"
        );
    }
}

#[test]
fn hello_with_its_entry_version_changed_is_rejected() {
    let mut bytes = fixture();
    // .note.hermit.entry-version at 0x270: 12-byte header, "HERMIT\0\0", version byte.
    assert_eq!(&bytes[0x270 + 12..0x270 + 18], b"HERMIT");
    assert_eq!(bytes[0x270 + 20], 4);
    bytes[0x270 + 20] = 5;
    assert_eq!(
        check(&bytes, 1 << 20),
        Err(ImageProblem::WrongEntryVersion { found: Some(5) })
    );
}

#[test]
fn hello_made_writable_and_executable_is_rejected() {
    let mut bytes = fixture();
    // Program header 2 is the R-X text segment; p_flags is at +4.
    let flags = 64 + 2 * 56 + 4;
    assert_eq!(bytes[flags], 5);
    bytes[flags] = 7;
    let (storage, start) = aligned(&bytes);
    let err = validate(
        "vault",
        &storage[start..start + bytes.len()],
        &ImageLimits { max_span: 1 << 20 },
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "module 'vault': segment 2 is both writable and executable"
    );
}

/// `.note.tessera.abi-version`, right after hermit-entry's note in the same PT_NOTE
/// segment (README): 12-byte header, "TESSERA\0", the version as a little-endian u32.
const ABI_NOTE: usize = 0x288;
const ABI_NOTE_VERSION: usize = ABI_NOTE + 20;

#[test]
fn hello_carries_the_abi_version_it_was_built_against() {
    let bytes = fixture();
    assert_eq!(
        &bytes[ABI_NOTE..ABI_NOTE + 24],
        tessera_abi::image::AbiVersionNote::new(ABI_VERSION).bytes()
    );
    // The first PT_NOTE (program header 9) covers both notes: 0x270 + 0x30.
    let note_ph = 64 + 9 * 56;
    assert_eq!(
        u32::from_le_bytes(bytes[note_ph..note_ph + 4].try_into().unwrap()),
        4
    );
    let offset = u64::from_le_bytes(bytes[note_ph + 8..note_ph + 16].try_into().unwrap());
    let filesz = u64::from_le_bytes(bytes[note_ph + 32..note_ph + 40].try_into().unwrap());
    assert_eq!((offset, filesz), (0x270, 0x30));
}

#[test]
fn hello_built_against_another_abi_is_rejected_naming_both_versions() {
    for other in [ABI_VERSION - 1, ABI_VERSION + 1, 0x0100_0002] {
        let mut bytes = fixture();
        bytes[ABI_NOTE_VERSION..ABI_NOTE_VERSION + 4].copy_from_slice(&other.to_le_bytes());
        let (storage, start) = aligned(&bytes);
        let err = validate(
            "stale",
            &storage[start..start + bytes.len()],
            &ImageLimits { max_span: 1 << 20 },
        )
        .unwrap_err();
        assert_eq!(
            err.problem,
            ImageProblem::AbiVersion {
                found: AbiNote::Version(other)
            }
        );
        assert_eq!(
            err.to_string(),
            format!(
                "module 'stale': built against ABI {other}, this hypervisor speaks ABI {ABI_VERSION} (the image's ABI-version note); rebuild it with this hypervisor's SDK"
            )
        );
        assert!(err.reject_line().starts_with(&format!(
            "@@REJECT module=stale problem=abi-version image_abi={other} hypervisor_abi={ABI_VERSION} message="
        )));
    }
}

#[test]
fn hello_without_its_abi_note_is_rejected_saying_so() {
    // The name altered ("TESSERa"), the type altered, or the note's header turned into
    // another well-formed note: each leaves the segment without an ABI-version note.
    let edits: [(usize, &[u8]); 3] = [
        (ABI_NOTE + 12 + 6, b"a"),
        (ABI_NOTE + 8, &2u32.to_le_bytes()),
        (
            ABI_NOTE,
            &[8, 0, 0, 0, 4, 0, 0, 0, 3, 0, 0, 0, b'G', b'N', b'U', 0],
        ),
    ];
    for (at, patch) in edits {
        let mut bytes = fixture();
        bytes[at..at + patch.len()].copy_from_slice(patch);
        let err = check(&bytes, 1 << 20).unwrap_err();
        assert_eq!(
            err,
            ImageProblem::AbiVersion {
                found: AbiNote::Missing
            },
            "patch at {at:#x}"
        );
        let message = err.to_string();
        assert!(
            message.starts_with("no ABI-version note")
                && message.contains(&format!("this hypervisor speaks ABI {ABI_VERSION}")),
            "{message}"
        );
    }
}

#[test]
fn hello_with_its_abi_note_corrupted_is_rejected() {
    // n_descsz 4 → 2: the note still fits its segment, but holds no 4-byte version.
    let mut bytes = fixture();
    bytes[ABI_NOTE + 4] = 2;
    assert_eq!(
        check(&bytes, 1 << 20),
        Err(ImageProblem::AbiVersion {
            found: AbiNote::BadDescriptor { len: 2 }
        })
    );
    // n_descsz past the segment: the walk itself refuses the note, as the loader would
    // panic on it.
    bytes[ABI_NOTE + 4] = 9;
    assert!(matches!(
        check(&bytes, 1 << 20),
        Err(ImageProblem::MalformedNote { index: 1, .. })
    ));
    // The PT_NOTE cut to hermit-entry's note alone: no ABI-version note.
    let mut bytes = fixture();
    let filesz = 64 + 9 * 56 + 32;
    bytes[filesz] = 0x18;
    assert_eq!(
        check(&bytes, 1 << 20),
        Err(ImageProblem::AbiVersion {
            found: AbiNote::Missing
        })
    );
}
