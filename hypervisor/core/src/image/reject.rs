//! The `@@REJECT` line of a refused image (DESIGN §9):
//!
//! ```text
//! @@REJECT module=NAME problem=WORD [DETAILS] message=TEXT
//! ```
//!
//! `problem` is one word per kind of problem (what `expect=reject:WORD` names); the
//! details are the figures a test checks (`offset=` of `vmfunc-bytes`, `needed=` of
//! `out-of-memory`, `image_abi=` and `hypervisor_abi=` of `abi-version`), and `message` is the whole human-readable error, encoded as one
//! value (`outcome::encode_value`).

use alloc::string::String;
use core::fmt::Write;

use super::problem::{ImageError, ImageProblem};
use crate::outcome::encode_value;

impl ImageProblem {
    /// The problem word of the `@@REJECT` line.
    #[must_use]
    pub fn word(&self) -> &'static str {
        match self {
            Self::BufferMisaligned { .. } => "buffer-misaligned",
            Self::TruncatedHeader { .. } => "truncated-header",
            Self::NotElf => "not-elf",
            Self::WrongClass { .. } => "wrong-class",
            Self::WrongEndianness { .. } => "wrong-endianness",
            Self::WrongMachine { .. } => "wrong-machine",
            Self::WrongType { .. } => "wrong-type",
            Self::WrongEntrySize { .. } => "wrong-entry-size",
            Self::OutOfBounds { .. } => "out-of-bounds",
            Self::Misaligned { .. } => "misaligned",
            Self::UnsupportedSegmentType { .. } => "unsupported-segment-type",
            Self::SegmentOutOfBounds { .. } => "segment-out-of-bounds",
            Self::SegmentWraps { .. } => "segment-wraps",
            Self::FileSizeExceedsMemSize { .. } => "file-size-exceeds-mem-size",
            Self::EmptySegment { .. } => "empty-segment",
            Self::UnmappablePermissions { .. } => "unmappable-permissions",
            Self::WritableAndExecutable { .. } => "writable-and-executable",
            Self::AlignmentNotPowerOfTwo { .. } => "alignment-not-power-of-two",
            Self::AlignmentTooLarge { .. } => "alignment-too-large",
            Self::AddressOffsetMismatch { .. } => "address-offset-mismatch",
            Self::BadImageBase { .. } => "bad-image-base",
            Self::NoLoadSegment => "no-load-segment",
            Self::SegmentsOutOfOrder { .. } => "segments-out-of-order",
            Self::OverlappingSegments { .. } => "overlapping-segments",
            Self::SharedPage { .. } => "shared-page",
            Self::NoNoteSegment => "no-note-segment",
            Self::MalformedNote { .. } => "malformed-note",
            Self::MissingEntryVersion => "missing-entry-version",
            Self::WrongEntryVersion { .. } => "wrong-entry-version",
            Self::AbiVersion { .. } => "abi-version",
            Self::MultipleDynamic => "multiple-dynamic",
            Self::DynamicSizeNotMultiple { .. } => "dynamic-size-not-multiple",
            Self::DynamicallyLinked => "dynamically-linked",
            Self::UnsupportedDynamicTag { .. } => "unsupported-dynamic-tag",
            Self::IncompleteRela => "incomplete-rela",
            Self::WrongRelaEntrySize { .. } => "wrong-rela-entry-size",
            Self::RelaSizeNotMultiple { .. } => "rela-size-not-multiple",
            Self::RelaNotInFile { .. } => "rela-not-in-file",
            Self::UnsupportedRelocation { .. } => "unsupported-relocation",
            Self::RelocationWithSymbol { .. } => "relocation-with-symbol",
            Self::RelocationOutsideSegments { .. } => "relocation-outside-segments",
            Self::RelocationInCode { .. } => "relocation-in-code",
            Self::RelocationAddendOutOfImage { .. } => "relocation-addend-out-of-image",
            Self::MalformedExport { .. } => "malformed-export",
            Self::ExportNotExecutable { .. } => "export-not-executable",
            Self::MissingExport { .. } => "missing-export",
            Self::EntryNotExecutable { .. } => "entry-not-executable",
            Self::TooLarge { .. } => "too-large",
            Self::NotRelocatable => "not-relocatable",
            Self::VmfuncBytes { .. } => "vmfunc-bytes",
            Self::OutOfMemory { .. } => "out-of-memory",
            Self::Cpu { .. } => "cpu",
        }
    }

    /// The `key=value` details of the `@@REJECT` line (after `problem=`), each preceded
    /// by a space; empty for most problems.
    #[must_use]
    pub fn details(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = match self {
            Self::VmfuncBytes { offset } => write!(out, " offset={offset:#x}"),
            Self::RelocationInCode { index, offset, .. } => {
                write!(out, " relocation={index} offset={offset:#x}")
            }
            Self::OutOfMemory { needed, .. } => write!(out, " needed={needed}"),
            Self::Cpu { cpu, cpus } => write!(out, " cpu={cpu} cpus={cpus}"),
            Self::AbiVersion { found } => write!(
                out,
                " image_abi={found} hypervisor_abi={}",
                tessera_abi::ABI_VERSION
            ),
            Self::MissingExport {
                compartment,
                export,
            } => write!(
                out,
                " compartment={} export={}",
                encode_value(compartment),
                encode_value(export)
            ),
            Self::ExportNotExecutable { export, address } => {
                write!(out, " export={} address={address:#x}", encode_value(export))
            }
            _ => Ok(()),
        };
        out
    }
}

impl ImageError {
    /// The whole `@@REJECT` line.
    #[must_use]
    pub fn reject_line(&self) -> String {
        alloc::format!(
            "@@REJECT module={} problem={}{} message={}",
            encode_value(&self.module),
            self.problem.word(),
            self.problem.details(),
            encode_value(&alloc::format!("{self}"))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::MemoryPart;
    use super::*;

    fn line(problem: ImageProblem) -> String {
        ImageError {
            module: "attack".into(),
            problem,
        }
        .reject_line()
    }

    #[test]
    fn lines_carry_the_word_the_details_and_the_message() {
        assert_eq!(
            line(ImageProblem::VmfuncBytes { offset: 0x2714 }),
            "@@REJECT module=attack problem=vmfunc-bytes offset=0x2714 message=module%20'attack':%20executable%20bytes%20at%20offset%200x2714%20from%20the%20image%20base%20are%200F%2001%20D4%20(VMFUNC),%20which%20only%20a%20view's%20own%20gate%20slot%20may%20hold"
        );
        assert!(
            line(ImageProblem::OutOfMemory {
                part: MemoryPart::Image,
                needed: 0x1000_0000
            })
            .starts_with("@@REJECT module=attack problem=out-of-memory needed=268435456 message=")
        );
        assert!(
            line(ImageProblem::Cpu { cpu: 3, cpus: 2 })
                .starts_with("@@REJECT module=attack problem=cpu cpu=3 cpus=2 message=")
        );
        assert!(line(ImageProblem::NotElf).starts_with(
            "@@REJECT module=attack problem=not-elf message=module%20'attack':%20not%20an%20ELF"
        ));
    }

    #[test]
    fn words_are_single_lowercase_values() {
        let problems = [
            ImageProblem::NotElf,
            ImageProblem::RelocationInCode {
                index: 3,
                offset: 0x1008,
                segment: 1,
            },
            ImageProblem::NotRelocatable,
            ImageProblem::MissingEntryVersion,
        ];
        for p in problems {
            let word = p.word();
            assert!(
                word.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{word}"
            );
            assert!(!line(p).contains("  "));
        }
    }
}
