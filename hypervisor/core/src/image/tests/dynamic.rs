//! The dynamic section and the relocation table.

use super::super::{ImageProblem, Region};
use super::PT_LOAD;
use super::{
    DT_NULL, DT_RELA, DT_RELAENT, DT_RELASZ, Image, PT_DYNAMIC, PT_GNU_STACK, Ph, R,
    R_X86_64_RELATIVE, W, accept, check_bytes, problem,
};

const DT_NEEDED: u64 = 1;

fn with_dynamic(entries: &[(u64, u64)]) -> Image {
    let mut image = Image::valid();
    image.dynamic = entries.to_vec();
    image.ph(PT_DYNAMIC).filesz = 16 * entries.len() as u64;
    image.ph(PT_DYNAMIC).memsz = 16 * entries.len() as u64;
    image
}

#[test]
fn no_dynamic_section_means_no_relocations() {
    let mut image = Image::valid();
    image.ph(PT_DYNAMIC).p_type = PT_GNU_STACK;
    accept(&image);
    accept(&with_dynamic(&[(DT_NULL, 0)]));
    accept(&with_dynamic(&[(DT_RELASZ, 0), (DT_NULL, 0)]));
}

#[test]
fn dynamically_linked() {
    let image = with_dynamic(&[(DT_NEEDED, 1), (DT_NULL, 0)]);
    assert_eq!(problem(&image), ImageProblem::DynamicallyLinked);
    // The loader looks past DT_NULL, so this does too.
    let image = with_dynamic(&[(DT_NULL, 0), (DT_NEEDED, 1)]);
    assert_eq!(problem(&image), ImageProblem::DynamicallyLinked);
}

#[test]
fn multiple_dynamic_segments() {
    let mut image = Image::valid();
    image
        .phdrs
        .push(Ph::new(PT_DYNAMIC, R | W, 0x2000, 0x2000, 0x50, 0x50, 8));
    assert_eq!(problem(&image), ImageProblem::MultipleDynamic);
}

#[test]
fn dynamic_size_and_placement() {
    let mut image = Image::valid();
    image.ph(PT_DYNAMIC).filesz = 0x48;
    assert_eq!(
        problem(&image),
        ImageProblem::DynamicSizeNotMultiple { size: 0x48 }
    );
    let mut image = Image::valid();
    image.ph(PT_DYNAMIC).offset = 0x2004;
    assert_eq!(
        problem(&image),
        ImageProblem::Misaligned {
            region: Region::Dynamic,
            offset: 0x2004,
            align: 8
        }
    );
}

#[test]
fn relocations_the_loader_would_skip_or_assert_on() {
    for tag in [2, 17, 18, 23, 35, 36, 0x6fff_fffa, 0x6000_0011, 0x6fff_e000] {
        let mut image = Image::valid();
        image.dynamic.insert(0, (tag, 0x600));
        image.ph(PT_DYNAMIC).filesz += 16;
        assert_eq!(
            problem(&image),
            ImageProblem::UnsupportedDynamicTag { tag, value: 0x600 }
        );
    }
    // Present but zero is harmless (the loader asserts DT_RELCOUNT == 0).
    let mut image = Image::valid();
    image.dynamic.insert(0, (0x6fff_fffa, 0));
    image.ph(PT_DYNAMIC).filesz += 16;
    accept(&image);
}

#[test]
fn incomplete_or_inconsistent_rela() {
    let image = with_dynamic(&[(DT_RELA, 0x600), (DT_NULL, 0)]);
    assert_eq!(problem(&image), ImageProblem::IncompleteRela);
    let image = with_dynamic(&[(DT_RELASZ, 48), (DT_NULL, 0)]);
    assert_eq!(problem(&image), ImageProblem::IncompleteRela);
    let image = with_dynamic(&[(DT_RELA, 0x600), (DT_RELASZ, 48), (DT_RELAENT, 16)]);
    assert_eq!(
        problem(&image),
        ImageProblem::WrongRelaEntrySize { size: 16 }
    );
    let image = with_dynamic(&[(DT_RELA, 0x600), (DT_RELASZ, 40)]);
    assert_eq!(
        problem(&image),
        ImageProblem::RelaSizeNotMultiple { size: 40 }
    );
}

#[test]
fn later_tags_override_earlier_ones_as_in_the_loader() {
    let image = with_dynamic(&[(DT_RELASZ, 4800), (DT_RELA, 0x600), (DT_RELASZ, 48)]);
    accept(&image);
    let image = with_dynamic(&[(DT_RELASZ, 48), (DT_RELA, 0x600), (DT_RELASZ, 4800)]);
    assert_eq!(
        problem(&image),
        ImageProblem::RelaNotInFile {
            vaddr: 0x600,
            size: 4800
        }
    );
}

#[test]
fn rela_table_not_in_file() {
    // Unmapped: the loader would fall back to file offset 0 and read the ELF header.
    let image = with_dynamic(&[(DT_RELA, 0x5000), (DT_RELASZ, 48)]);
    assert_eq!(
        problem(&image),
        ImageProblem::RelaNotInFile {
            vaddr: 0x5000,
            size: 48
        }
    );
    // In the bss part of the data segment.
    let image = with_dynamic(&[(DT_RELA, 0x2800), (DT_RELASZ, 48)]);
    assert_eq!(
        problem(&image),
        ImageProblem::RelaNotInFile {
            vaddr: 0x2800,
            size: 48
        }
    );
    let image = with_dynamic(&[(DT_RELA, 0x604), (DT_RELASZ, 48)]);
    assert_eq!(
        problem(&image),
        ImageProblem::Misaligned {
            region: Region::Relocations,
            offset: 0x604,
            align: 8
        }
    );
}

#[test]
fn unsupported_relocation_types() {
    for r_type in [0u32, 1, 6, 7, 37] {
        let mut image = Image::valid();
        image.relas[1].1 = u64::from(r_type);
        assert_eq!(
            problem(&image),
            ImageProblem::UnsupportedRelocation { index: 1, r_type }
        );
    }
}

#[test]
fn relative_relocation_with_symbol() {
    let mut image = Image::valid();
    image.relas[0].1 = (3 << 32) | R_X86_64_RELATIVE;
    assert_eq!(
        problem(&image),
        ImageProblem::RelocationWithSymbol {
            index: 0,
            symbol: 3
        }
    );
}

#[test]
fn relocation_target_outside_segments() {
    // In the gap after the code segment, straddling the end of data, and past the image.
    for offset in [0x1800, 0x2ffc, 0x10_0000, u64::MAX - 3] {
        let mut image = Image::valid();
        image.relas[1].0 = offset;
        assert_eq!(
            problem(&image),
            ImageProblem::RelocationOutsideSegments { index: 1, offset }
        );
    }
}

#[test]
fn relocation_into_code() {
    // The file's code holds no VMFUNC, but a relocation into it writes `base + addend`
    // there, bytes the file does not show (see `scan_loaded`'s tests for one that makes
    // 0F 01 D4).
    let mut image = Image::valid();
    image.relas[1] = (0x1008, R_X86_64_RELATIVE, 0x0F00);
    assert_eq!(
        problem(&image),
        ImageProblem::RelocationInCode {
            index: 1,
            offset: 0x1008,
            segment: 1
        }
    );
    // Any overlap with an executable page counts: the last 8 bytes of the page before
    // the code are still fine, the last bytes of the code segment are not.
    let mut image = Image::valid();
    image.relas[1].0 = 0x1008 - 0x10;
    image.ph(PT_LOAD).memsz = 0x1000;
    image.ph(PT_LOAD).filesz = 0x1000;
    assert!(!matches!(
        check_bytes(&image.build()),
        Err(ImageProblem::RelocationInCode { .. })
    ));
    let mut image = Image::valid();
    image.relas[1].0 = 0x1008;
    assert!(matches!(
        problem(&image),
        ImageProblem::RelocationInCode { segment: 1, .. }
    ));
}

#[test]
fn relocation_addend_outside_image() {
    for addend in [-1, -0x1000, 0x3001, i64::MAX] {
        let mut image = Image::valid();
        image.relas[0].2 = addend;
        assert_eq!(
            problem(&image),
            ImageProblem::RelocationAddendOutOfImage { index: 0, addend }
        );
    }
    // One past the end (a `_end` symbol) is a valid pointer.
    let mut image = Image::valid();
    image.relas[0].2 = 0x3000;
    accept(&image);
}
