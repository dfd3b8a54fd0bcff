//! The export table against a real compartment: `examples/pingpong/pong` as the SDK builds
//! it (`tests/fixtures/elf/pong.elf`, see the README next to it), whose one export `pong`
//! is the function at 0x2630, in an export-table note at 0x270 (descriptor at 0x284: format
//! 1, delta 0x23a8 from the field at 0x288, name "pong").

use tessera_core::image::{
    Export, ExportDefect, ImageError, ImageLimits, ImagePlan, ImageProblem, check_declared,
    validate,
};

/// The note's descriptor: format word, delta word, name.
const FORMAT_AT: usize = 0x284;
const DELTA_AT: usize = 0x288;
const NAME_AT: usize = 0x28c;
/// `pong`'s offset from the image base (`nm`: `pingpong_pong::pong` at 0x2630).
const PONG: u64 = 0x2630;

fn fixture() -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/elf/pong.elf");
    std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn check(bytes: &[u8]) -> Result<ImagePlan, ImageError> {
    let mut storage = vec![0u8; bytes.len() + 8];
    let start = (8 - storage.as_ptr().addr() % 8) % 8;
    storage[start..start + bytes.len()].copy_from_slice(bytes);
    validate(
        "pong",
        &storage[start..start + bytes.len()],
        &ImageLimits { max_span: 1 << 20 },
    )
}

fn problem(bytes: &[u8]) -> ImageProblem {
    check(bytes).expect_err("must be rejected").problem
}

fn patched(at: usize, new: &[u8]) -> Vec<u8> {
    let mut bytes = fixture();
    bytes[at..at + new.len()].copy_from_slice(new);
    bytes
}

#[test]
fn pong_exports_its_function_as_an_image_offset() {
    let plan = check(&fixture()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        plan.exports,
        [Export {
            name: "pong".into(),
            offset: PONG
        }]
    );
    assert_eq!(plan.export("pong"), Some(PONG));
    assert_eq!(plan.export("ping"), None);
    assert_eq!(&fixture()[FORMAT_AT..DELTA_AT], &1u32.to_le_bytes());
}

#[test]
fn every_declared_export_must_be_in_the_table() {
    let plan = check(&fixture()).expect("pong accepted");
    assert_eq!(check_declared(&plan, "pong", ["pong"]), Ok(()));
    assert_eq!(check_declared(&plan, "pong", []), Ok(()));
    let missing = check_declared(&plan, "pong", ["pong", "reset"]).expect_err("reset");
    assert_eq!(
        missing,
        ImageProblem::MissingExport {
            compartment: "pong".into(),
            export: "reset".into()
        }
    );
    let line = ImageError {
        module: "pong".into(),
        problem: missing,
    }
    .reject_line();
    assert!(
        line.starts_with("@@REJECT module=pong problem=missing-export compartment=pong export=reset message=module%20'pong':%20the%20manifest%20declares%20export%20'reset'%20of%20compartment%20'pong'"),
        "{line}"
    );
}

#[test]
fn an_export_outside_the_code_is_rejected() {
    // Delta 0: the function would be the delta field itself, in the read-only segment.
    assert_eq!(
        problem(&patched(DELTA_AT, &0u32.to_le_bytes())),
        ImageProblem::ExportNotExecutable {
            export: "pong".into(),
            address: DELTA_AT as u64
        }
    );
    // Backwards past the image base: wraps, and is no segment's either.
    assert!(matches!(
        problem(&patched(DELTA_AT, &i32::MIN.to_le_bytes())),
        ImageProblem::ExportNotExecutable { .. }
    ));
}

#[test]
fn an_entry_of_another_format_or_with_a_bad_name_is_rejected() {
    assert_eq!(
        problem(&patched(FORMAT_AT, &2u32.to_le_bytes())),
        ImageProblem::MalformedExport {
            index: 0,
            defect: ExportDefect::Format { found: 2 }
        }
    );
    assert_eq!(
        problem(&patched(NAME_AT, &[0xff])),
        ImageProblem::MalformedExport {
            index: 0,
            defect: ExportDefect::BadName
        }
    );
}

#[test]
fn a_note_of_another_type_is_not_an_export() {
    // n_type 3 instead of NT_EXPORT (2): the note is skipped, the table is empty.
    let plan = check(&patched(0x278, &3u32.to_le_bytes())).expect("accepted");
    assert!(plan.exports.is_empty());
    assert!(check_declared(&plan, "pong", ["pong"]).is_err());
}
