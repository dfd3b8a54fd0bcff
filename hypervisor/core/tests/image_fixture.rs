//! Image validation against a real compartment: `examples/hello` as the SDK builds it
//! (`tests/fixtures/elf/hello.elf`, see the README next to it).

use tessera_core::image::{
    ImageLimits, ImagePlan, ImageProblem, PAGE_SIZE, Perms, SegmentPlan, validate,
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
    // readelf -l: R 0x0+0x1b44, R-X 0x2b50+0x33df, RW- 0x6f30+0x10d0, RW- 0x83f0+0x10041.
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
    assert_eq!(plan.entry_offset, 0x2c20);
    assert_eq!(plan.span, 0x19000);
    assert_eq!(plan.mem_size, 0x18431);
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
fn hello_with_its_note_version_changed_is_rejected() {
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
