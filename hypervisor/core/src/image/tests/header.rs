//! The file header, the header tables, the buffer, and the accepted plan.

use alloc::string::ToString;

use super::super::{ImageLimits, ImageProblem, Perms, Region, SegmentPlan, validate};
use super::{Aligned, FILE_LEN, Image, accept, problem_of, put16, put64};

#[test]
fn canonical_image_is_accepted_with_its_plan() {
    let plan = accept(&Image::valid());
    assert_eq!(plan.entry_offset, 0x1000);
    assert_eq!(plan.span, 0x3000);
    assert_eq!(plan.mem_size, 0x3000);
    assert_eq!(plan.fixed_base, None);
    assert_eq!(plan.align, 0x1000);
    assert_eq!(
        plan.segments,
        [
            SegmentPlan {
                offset: 0,
                len: 0x1000,
                perms: Perms::R
            },
            SegmentPlan {
                offset: 0x1000,
                len: 0x1000,
                perms: Perms::RX
            },
            SegmentPlan {
                offset: 0x2000,
                len: 0x1000,
                perms: Perms::RW
            },
        ]
    );
}

#[test]
fn error_names_module_and_problem() {
    let mut image = Image::valid();
    image.phdrs[2].flags |= super::X;
    let buf = Aligned::new(&image.build());
    let err = validate("vault", buf.bytes(), &super::LIMITS).unwrap_err();
    assert_eq!(err.module, "vault");
    assert_eq!(
        err.to_string(),
        "module 'vault': segment 2 is both writable and executable"
    );
}

#[test]
fn misaligned_buffer() {
    let bytes = Image::valid().build();
    let buf = Aligned::new(&[&[0u8][..], &bytes].concat());
    let err = validate("m", &buf.bytes()[1..], &super::LIMITS).unwrap_err();
    assert_eq!(
        err.problem,
        ImageProblem::BufferMisaligned { misalignment: 1 }
    );
}

#[test]
fn truncated_header() {
    let bytes = Image::valid().build();
    for len in [0, 4, 63] {
        assert_eq!(
            problem_of(&bytes[..len]),
            ImageProblem::TruncatedHeader { len: len as u64 }
        );
    }
}

#[test]
fn not_elf() {
    let mut bytes = Image::valid().build();
    bytes[1] = b'X';
    assert_eq!(problem_of(&bytes), ImageProblem::NotElf);
}

#[test]
fn wrong_class_endianness_machine_type() {
    let valid = Image::valid().build();
    let mut b = valid.clone();
    b[4] = 1;
    assert_eq!(problem_of(&b), ImageProblem::WrongClass { class: 1 });
    let mut b = valid.clone();
    b[5] = 2;
    assert_eq!(
        problem_of(&b),
        ImageProblem::WrongEndianness { encoding: 2 }
    );
    let mut b = valid.clone();
    put16(&mut b, 18, 183); // EM_AARCH64
    assert_eq!(problem_of(&b), ImageProblem::WrongMachine { machine: 183 });
    for e_type in [0, 1, 4, 0xfe00] {
        let mut b = valid.clone();
        put16(&mut b, 16, e_type);
        assert_eq!(problem_of(&b), ImageProblem::WrongType { e_type });
    }
}

#[test]
fn wrong_entry_sizes() {
    let valid = Image::valid().build();
    let mut b = valid.clone();
    put16(&mut b, 54, 64);
    assert_eq!(
        problem_of(&b),
        ImageProblem::WrongEntrySize {
            region: Region::ProgramHeaders,
            size: 64,
            expected: 56
        }
    );
    let mut b = valid.clone();
    put16(&mut b, 58, 40);
    assert_eq!(
        problem_of(&b),
        ImageProblem::WrongEntrySize {
            region: Region::SectionHeaders,
            size: 40,
            expected: 64
        }
    );
    // Without sections, the section entry size does not matter.
    let mut b = valid;
    put16(&mut b, 58, 0);
    put16(&mut b, 60, 0);
    assert!(super::check_bytes(&b).is_ok());
}

#[test]
fn program_headers_out_of_bounds_or_misaligned() {
    let valid = Image::valid().build();
    let mut b = valid.clone();
    put64(&mut b, 32, FILE_LEN as u64 - 56);
    assert!(matches!(
        problem_of(&b),
        ImageProblem::OutOfBounds {
            region: Region::ProgramHeaders,
            ..
        }
    ));
    let mut b = valid.clone();
    put64(&mut b, 32, u64::MAX - 8);
    assert!(matches!(
        problem_of(&b),
        ImageProblem::OutOfBounds {
            region: Region::ProgramHeaders,
            ..
        }
    ));
    let mut b = valid.clone();
    put16(&mut b, 56, 0xffff);
    assert!(matches!(
        problem_of(&b),
        ImageProblem::OutOfBounds {
            region: Region::ProgramHeaders,
            ..
        }
    ));
    let mut b = valid;
    put64(&mut b, 32, 0x44);
    assert_eq!(
        problem_of(&b),
        ImageProblem::Misaligned {
            region: Region::ProgramHeaders,
            offset: 0x44,
            align: 8
        }
    );
}

#[test]
fn section_headers_out_of_bounds_or_misaligned() {
    let valid = Image::valid().build();
    // The loader slices `elf[e_shoff..]` even when there are no sections.
    let mut b = valid.clone();
    put16(&mut b, 60, 0);
    put64(&mut b, 40, FILE_LEN as u64 + 8);
    assert!(matches!(
        problem_of(&b),
        ImageProblem::OutOfBounds {
            region: Region::SectionHeaders,
            ..
        }
    ));
    let mut b = valid.clone();
    put16(&mut b, 60, 3);
    assert!(matches!(
        problem_of(&b),
        ImageProblem::OutOfBounds {
            region: Region::SectionHeaders,
            ..
        }
    ));
    let mut b = valid;
    put16(&mut b, 60, 0);
    put64(&mut b, 40, 0x2204);
    assert_eq!(
        problem_of(&b),
        ImageProblem::Misaligned {
            region: Region::SectionHeaders,
            offset: 0x2204,
            align: 8
        }
    );
}

#[test]
fn dynsym_section_out_of_bounds_or_misaligned() {
    let valid = Image::valid().build();
    let sh = super::SHDR_OFF + 64;
    let mut b = valid.clone();
    put64(&mut b, sh + 32, 0x10_0000);
    assert!(matches!(
        problem_of(&b),
        ImageProblem::OutOfBounds {
            region: Region::DynamicSymbols,
            ..
        }
    ));
    let mut b = valid;
    put64(&mut b, sh + 24, 0x804);
    assert!(matches!(
        problem_of(&b),
        ImageProblem::Misaligned {
            region: Region::DynamicSymbols,
            ..
        }
    ));
}

#[test]
fn too_large_for_region() {
    let buf = Aligned::new(&Image::valid().build());
    let limits = ImageLimits { max_span: 0x2000 };
    let err = validate("big", buf.bytes(), &limits).unwrap_err();
    assert_eq!(
        err.problem,
        ImageProblem::TooLarge {
            needed: 0x3000,
            available: 0x2000
        }
    );
    assert_eq!(
        err.to_string(),
        "module 'big': too large for its region: needs 12288 bytes, region holds 8192"
    );
    let exact = ImageLimits { max_span: 0x3000 };
    assert!(validate("fits", buf.bytes(), &exact).is_ok());
}
