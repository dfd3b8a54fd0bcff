//! The image as loaded and the rogue-VMFUNC scan over it (DESIGN §6 property 2), on
//! hand-built images and plans.

use alloc::vec;
use alloc::vec::Vec;

use super::super::{ImagePlan, ImageProblem, Perms, SegmentPlan, load, scan_loaded};
use super::{Aligned, Image, LIMITS, R_X86_64_RELATIVE, TEXT_OFF};
use crate::scan::sites;

const BASE: u64 = 0x0100_0000;

fn scan_file(bytes: &[u8]) -> Result<(), ImageProblem> {
    let loaded = load("test", Aligned::new(bytes).bytes(), &LIMITS, BASE).map_err(|e| e.problem)?;
    scan_loaded(&loaded.plan, &loaded.memory)
}

/// The canonical image with `code` at the start of its text segment (16 bytes).
fn with_code(code: &[u8]) -> Vec<u8> {
    let mut bytes = Image::valid().build();
    bytes[TEXT_OFF..TEXT_OFF + code.len()].copy_from_slice(code);
    bytes
}

#[test]
fn the_loaded_image_is_the_segments_plus_relocations() {
    let image = Image::valid();
    let bytes = image.build();
    let loaded = load("test", Aligned::new(&bytes).bytes(), &LIMITS, BASE).expect("valid");
    assert_eq!(loaded.memory.len() as u64, loaded.plan.span);
    // Text copied in place, bss zero, relocations applied: base + addend.
    assert_eq!(&loaded.memory[0x1000..0x1002], &[0xEB, 0xFE]);
    assert_eq!(
        &loaded.memory[0x2100..0x2108],
        &(BASE + 0x1000).to_le_bytes()
    );
    assert_eq!(
        &loaded.memory[0x2108..0x2110],
        &(BASE + 0x400).to_le_bytes()
    );
    assert!(loaded.memory[0x2200..].iter().all(|&b| b == 0));
    // The file's first page, headers included, is the first segment.
    assert_eq!(&loaded.memory[..0x900], &bytes[..0x900]);
}

#[test]
fn vmfunc_in_code_is_found_at_its_offset() {
    assert_eq!(scan_file(&Image::valid().build()), Ok(()));
    assert_eq!(
        scan_file(&with_code(&[0x90, 0x0F, 0x01, 0xD4, 0xC3])),
        Err(ImageProblem::VmfuncBytes { offset: 0x1001 })
    );
    // Inside an immediate, as rustc emits it: cmp ecx, 0xd4010f (81 F9 0F 01 D4 00).
    assert_eq!(
        scan_file(&with_code(&[0x81, 0xF9, 0x0F, 0x01, 0xD4, 0x00])),
        Err(ImageProblem::VmfuncBytes { offset: 0x1002 })
    );
}

#[test]
fn vmfunc_bytes_outside_executable_memory_are_data() {
    // In the read-only segment (right after the notes) they are never fetched.
    let mut bytes = Image::valid().build();
    bytes[0x400 + 48..0x400 + 51].copy_from_slice(&[0x0F, 0x01, 0xD4]);
    assert_eq!(scan_file(&bytes), Ok(()));
}

#[test]
fn a_relocation_into_code_could_create_vmfunc_and_is_refused() {
    // A 14 MiB image whose relocation writes `base + 0xd4010f`: at the region base
    // 0x0100_0000 that is 0x01d4010f, little-endian 0F 01 D4 01. The file's code holds
    // no VMFUNC (only the addend, in the read-only relocation table, spells it).
    let addend = 0xD4_010F_i64;
    let mut image = Image::valid();
    image.phdrs[2].memsz = 0xE0_0000;
    image.relas[1] = (0x2108, R_X86_64_RELATIVE, addend);
    let bytes = image.build();
    assert_eq!(sites(&bytes), [super::RELA_OFF + 24 + 16]);
    // Into data: the bytes appear, in memory nobody executes.
    let loaded = load("test", Aligned::new(&bytes).bytes(), &LIMITS, BASE).expect("valid");
    assert_eq!(&loaded.memory[0x2108..0x210B], &[0x0F, 0x01, 0xD4]);
    assert_eq!(scan_loaded(&loaded.plan, &loaded.memory), Ok(()));
    // Into code: the same relocation would put them where the CPU fetches.
    image.relas[1].0 = 0x1008;
    assert_eq!(
        scan_file(&image.build()),
        Err(ImageProblem::RelocationInCode {
            index: 1,
            offset: 0x1008,
            segment: 1
        })
    );
}

fn plan(segments: &[(u64, u64, Perms)]) -> ImagePlan {
    let segments: Vec<SegmentPlan> = segments
        .iter()
        .map(|&(offset, len, perms)| SegmentPlan { offset, len, perms })
        .collect();
    let last = segments.last().expect("segments");
    ImagePlan {
        entry_offset: 0x1000,
        span: last.offset + last.len,
        mem_size: last.offset + last.len,
        fixed_base: None,
        align: 0x1000,
        segments,
        exports: Vec::new(),
    }
}

#[test]
fn a_sequence_spanning_two_executable_mappings_is_found() {
    // R-X then execute-only, contiguous: one executable range to the CPU.
    let p = plan(&[
        (0, 0x1000, Perms::R),
        (0x1000, 0x1000, Perms::RX),
        (0x2000, 0x1000, Perms::X),
        (0x3000, 0x1000, Perms::RW),
    ]);
    let mut memory = vec![0x90u8; 0x4000];
    memory[0x1FFE..0x2001].copy_from_slice(&[0x0F, 0x01, 0xD4]);
    assert_eq!(
        scan_loaded(&p, &memory),
        Err(ImageProblem::VmfuncBytes { offset: 0x1FFE })
    );
    // Split one byte later, and in the page rounding past a segment's end.
    memory[0x1FFE..0x2001].copy_from_slice(&[0x90, 0x0F, 0x01]);
    memory[0x2001] = 0xD4;
    assert_eq!(
        scan_loaded(&p, &memory),
        Err(ImageProblem::VmfuncBytes { offset: 0x1FFF })
    );
    // With a non-executable page between them, no executable range holds the sequence.
    let gapped = plan(&[
        (0, 0x1000, Perms::R),
        (0x1000, 0x1000, Perms::RX),
        (0x2000, 0x1000, Perms::R),
        (0x3000, 0x1000, Perms::X),
    ]);
    let mut memory = vec![0x90u8; 0x4000];
    memory[0x1FFE..0x2000].copy_from_slice(&[0x0F, 0x01]);
    memory[0x3000] = 0xD4;
    assert_eq!(scan_loaded(&gapped, &memory), Ok(()));
    // Memory shorter than the span is refused, not read past.
    assert!(matches!(
        scan_loaded(&p, &memory[..0x1800]),
        Err(ImageProblem::TooLarge { .. })
    ));
}
