//! Program headers, `PT_LOAD` layout, the page plan and the entry point.

use super::super::{ImageProblem, Perms, SegmentPlan};
use super::{Image, PT_GNU_STACK, PT_LOAD, Ph, R, W, X, accept, problem};

#[test]
fn unsupported_segment_types() {
    for p_type in [3, 5, 7, 0x1234_5678] {
        let mut image = Image::valid();
        image.phdrs[5].p_type = p_type; // the GNU_STACK slot
        assert_eq!(
            problem(&image),
            ImageProblem::UnsupportedSegmentType { index: 5, p_type }
        );
    }
}

#[test]
fn null_segments_are_ignored_whatever_their_fields() {
    let mut image = Image::valid();
    image.phdrs[5] = Ph::new(0, 0xff, u64::MAX, u64::MAX, u64::MAX, 1, 3);
    accept(&image);
}

#[test]
fn segment_file_range_out_of_bounds() {
    let mut image = Image::valid();
    image.phdrs[1].filesz = 0x2000;
    image.phdrs[1].memsz = 0x2000;
    assert!(matches!(
        problem(&image),
        ImageProblem::SegmentOutOfBounds { index: 1, .. }
    ));
    // A bss-only segment still has its offset sliced by the loader.
    let mut image = Image::valid();
    image.phdrs.push(Ph::new(
        PT_LOAD,
        R | W,
        0x10_0000,
        0x4000,
        0,
        0x1000,
        0x1000,
    ));
    assert!(matches!(
        problem(&image),
        ImageProblem::SegmentOutOfBounds { index: 6, .. }
    ));
    let mut image = Image::valid();
    image.phdrs[5].offset = u64::MAX;
    image.phdrs[5].filesz = 2;
    assert!(matches!(
        problem(&image),
        ImageProblem::SegmentOutOfBounds { index: 5, .. }
    ));
}

#[test]
fn segment_address_wraps() {
    let mut image = Image::valid();
    image.phdrs.push(Ph::new(
        PT_LOAD,
        R | W,
        0x2000,
        u64::MAX - 0xfff,
        0,
        0x2000,
        0x1000,
    ));
    assert_eq!(problem(&image), ImageProblem::SegmentWraps { index: 6 });
}

#[test]
fn filesz_larger_than_memsz() {
    let mut image = Image::valid();
    image.phdrs[2].memsz = 0x100;
    assert_eq!(
        problem(&image),
        ImageProblem::FileSizeExceedsMemSize {
            index: 2,
            filesz: 0x110,
            memsz: 0x100
        }
    );
}

#[test]
fn empty_load_segment() {
    let mut image = Image::valid();
    image
        .phdrs
        .push(Ph::new(PT_LOAD, R, 0x2000, 0x5000, 0, 0, 0x1000));
    assert_eq!(problem(&image), ImageProblem::EmptySegment { index: 6 });
}

#[test]
fn writable_and_executable() {
    let mut image = Image::valid();
    image.phdrs[1].flags = R | W | X;
    assert_eq!(
        problem(&image),
        ImageProblem::WritableAndExecutable { index: 1 }
    );
}

#[test]
fn unmappable_permissions() {
    for flags in [0, W, 0xf000_0000] {
        let mut image = Image::valid();
        image.phdrs[2].flags = flags;
        assert_eq!(
            problem(&image),
            ImageProblem::UnmappablePermissions { index: 2, flags }
        );
    }
}

#[test]
fn execute_only_code_is_planned_as_such() {
    let mut image = Image::valid();
    image.phdrs[1].flags = X;
    assert_eq!(accept(&image).segments[1].perms, Perms::X);
}

#[test]
fn alignment_violations() {
    let mut image = Image::valid();
    image.phdrs[2].align = 0x3000;
    assert_eq!(
        problem(&image),
        ImageProblem::AlignmentNotPowerOfTwo {
            index: 2,
            align: 0x3000
        }
    );
    let mut image = Image::valid();
    image.phdrs[1].align = 0x40_0000;
    assert_eq!(
        problem(&image),
        ImageProblem::AlignmentTooLarge {
            index: 1,
            align: 0x40_0000
        }
    );
    let mut image = Image::valid();
    image.phdrs[1].offset = 0x1008;
    assert_eq!(
        problem(&image),
        ImageProblem::AddressOffsetMismatch {
            index: 1,
            vaddr: 0x1000,
            offset: 0x1008,
            align: 0x1000
        }
    );
}

#[test]
fn large_alignment_is_reported_in_the_plan() {
    let mut image = Image::valid();
    image.phdrs[1].align = 0x20_0000;
    image.phdrs[1].offset = 0x1000;
    image.phdrs[1].vaddr = 0x20_1000;
    image.entry = 0x20_1000;
    image.phdrs[2].vaddr = 0x20_2000;
    image.phdrs[2].offset = 0x2000;
    image.phdrs[3].vaddr = 0x20_2000;
    image.relas.clear();
    image.dynamic.truncate(0);
    image.ph(super::PT_DYNAMIC).p_type = PT_GNU_STACK;
    let plan = accept(&image);
    assert_eq!(plan.align, 0x20_0000);
    assert_eq!(plan.span, 0x20_3000);
}

#[test]
fn no_load_segment() {
    let mut image = Image::valid();
    for ph in &mut image.phdrs {
        if ph.p_type == PT_LOAD {
            ph.p_type = PT_GNU_STACK;
        }
    }
    assert_eq!(problem(&image), ImageProblem::NoLoadSegment);
}

#[test]
fn relocatable_image_must_start_at_zero() {
    let mut image = Image::valid();
    image.phdrs.remove(0);
    assert_eq!(
        problem(&image),
        ImageProblem::BadImageBase {
            index: 0,
            vaddr: 0x1000,
            relocatable: true
        }
    );
}

#[test]
fn fixed_address_image() {
    let mut image = Image::valid();
    image.e_type = 2; // ET_EXEC linked at 0x40_0000
    for ph in &mut image.phdrs {
        if ph.p_type != PT_GNU_STACK {
            ph.vaddr += 0x40_0000;
        }
    }
    image.entry += 0x40_0000;
    image.dynamic[0].1 += 0x40_0000;
    for rela in &mut image.relas {
        rela.0 += 0x40_0000;
        rela.2 += 0x40_0000;
    }
    let plan = accept(&image);
    assert_eq!(plan.fixed_base, Some(0x40_0000));
    assert_eq!(plan.entry_offset, 0x1000);
    assert_eq!(plan.segments[0].offset, 0);
    assert_eq!(plan.span, 0x3000);

    image.phdrs[0].vaddr += 0x10;
    image.phdrs[0].offset += 0x10;
    image.phdrs[0].memsz -= 0x10;
    image.phdrs[0].filesz -= 0x10;
    image.phdrs[0].align = 0x10;
    assert_eq!(
        problem(&image),
        ImageProblem::BadImageBase {
            index: 0,
            vaddr: 0x40_0010,
            relocatable: false
        }
    );
}

#[test]
fn load_segments_out_of_order() {
    let mut image = Image::valid();
    image.phdrs.swap(1, 2);
    assert_eq!(
        problem(&image),
        ImageProblem::SegmentsOutOfOrder { index: 2 }
    );
}

#[test]
fn overlapping_load_segments() {
    let mut image = Image::valid();
    image.phdrs[1].memsz = 0x1001;
    assert_eq!(
        problem(&image),
        ImageProblem::OverlappingSegments {
            first: 1,
            second: 2
        }
    );
}

#[test]
fn shared_page_with_different_permissions_is_refused() {
    // Text at 0x1000..0x1010, data moved onto the same page at 0x1800.
    let mut image = Image::valid();
    image.phdrs[2].vaddr = 0x1800;
    image.phdrs[2].offset = 0x1800;
    image.phdrs[2].filesz = 0;
    image.phdrs[2].align = 0x100;
    image.ph(super::PT_DYNAMIC).p_type = PT_GNU_STACK;
    image.relas.clear();
    assert_eq!(
        problem(&image),
        ImageProblem::SharedPage {
            first: 1,
            second: 2,
            page_offset: 0x1000
        }
    );
}

#[test]
fn shared_page_with_equal_permissions_is_merged() {
    // Data ends at 0x2800; a second RW segment starts on the same page at 0x2c00.
    let mut image = Image::valid();
    image.phdrs[2].memsz = 0x800;
    image
        .phdrs
        .insert(3, Ph::new(PT_LOAD, R | W, 0x2000, 0x2c00, 0, 0x2000, 0x400));
    let plan = accept(&image);
    assert_eq!(plan.segments.len(), 3);
    assert_eq!(
        plan.segments[2],
        SegmentPlan {
            offset: 0x2000,
            len: 0x3000,
            perms: Perms::RW
        }
    );
    assert_eq!(plan.span, 0x5000);
    assert_eq!(plan.mem_size, 0x4c00);
}

#[test]
fn entry_outside_executable_segments() {
    for entry in [0x0, 0x900, 0x1010, 0x2000, 0x1_0000] {
        let mut image = Image::valid();
        image.entry = entry;
        assert_eq!(problem(&image), ImageProblem::EntryNotExecutable { entry });
    }
    let mut image = Image::valid();
    image.entry = 0x100f;
    assert_eq!(accept(&image).entry_offset, 0x100f);
}
