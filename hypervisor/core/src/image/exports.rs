//! The export table: which functions of the image other compartments may call, read from
//! bytes at load instead of registered by running guest code (docs/images.md).
//!
//! The SDK's `exports!` writes one ELF note per export into the first `PT_NOTE` segment
//! (owner `TESSERA`, type [`NT_EXPORT`], `tessera_abi::image`): a format word, the
//! function's address relative to the field that holds it (resolved by the linker, so
//! the table needs no relocation and means the same at every load address), and the name.
//! [`read`] turns the notes [`notes::check`](super::notes::check) collected into image
//! offsets and refuses an entry the gate could not safely use: a format this hypervisor
//! does not know, a name no manifest could declare, a name given twice (which address
//! would the gate jump to?), or an address outside the image's code. [`check_declared`]
//! then holds the table against the manifest: every export the manifest declares for
//! the compartment must be there, so a call can never reach address 0. Entries the
//! manifest does not declare are ignored: the gate calls only declared exports (by their
//! manifest index), and one image may serve several manifests that declare different
//! subsets of what it defines.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use tessera_abi::image::{EXPORT_FORMAT, EXPORT_HEADER, NT_EXPORT};

use super::elf::PF_X;
use super::problem::ImageProblem;
use super::segments::Layout;
use super::{Export, ImagePlan};
use crate::manifest::MAX_EXPORT_NAME_LEN;

/// One export-table note as found in the first `PT_NOTE` segment (type [`NT_EXPORT`]).
#[derive(Clone, Copy, Debug)]
pub struct ExportNote<'a> {
    /// The note's index in the segment.
    pub index: usize,
    /// The descriptor's link-time address (`p_vaddr` of the segment plus its offset).
    pub vaddr: u64,
    /// The descriptor.
    pub descriptor: &'a [u8],
}

/// What is wrong with one export-table entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportDefect {
    /// The descriptor is shorter than the format and address fields.
    Short {
        /// `n_descsz`.
        len: u32,
    },
    /// A format this hypervisor does not know.
    Format {
        /// The format word found.
        found: u32,
    },
    /// The name is empty, longer than the longest export name or not UTF-8.
    BadName,
    /// Another entry has the same name.
    Duplicate,
}

impl fmt::Display for ExportDefect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Short { len } => write!(
                f,
                "has a {len}-byte descriptor, shorter than its {EXPORT_HEADER}-byte header"
            ),
            Self::Format { found } => write!(
                f,
                "is in format {found}; this hypervisor reads format {EXPORT_FORMAT}"
            ),
            Self::BadName => write!(
                f,
                "has a name that is empty, over {MAX_EXPORT_NAME_LEN} bytes or not UTF-8"
            ),
            Self::Duplicate => f.write_str("names an export an earlier entry already defines"),
        }
    }
}

/// The exports of `notes`, as image offsets, in table order; each inside the file part of
/// an executable `PT_LOAD` segment.
pub fn read(notes: &[ExportNote<'_>], layout: &Layout) -> Result<Vec<Export>, ImageProblem> {
    let mut exports: Vec<Export> = Vec::with_capacity(notes.len());
    for note in notes {
        let malformed = |defect| ImageProblem::MalformedExport {
            index: note.index,
            defect,
        };
        let Some((header, name)) = note.descriptor.split_at_checked(EXPORT_HEADER) else {
            return Err(malformed(ExportDefect::Short {
                len: note.descriptor.len() as u32,
            }));
        };
        let word = |at: usize| [header[at], header[at + 1], header[at + 2], header[at + 3]];
        let format = u32::from_le_bytes(word(0));
        if format != EXPORT_FORMAT {
            return Err(malformed(ExportDefect::Format { found: format }));
        }
        let name = match core::str::from_utf8(name) {
            Ok(name) if !name.is_empty() && name.len() <= MAX_EXPORT_NAME_LEN => name,
            _ => return Err(malformed(ExportDefect::BadName)),
        };
        if exports.iter().any(|e| e.name == name) {
            return Err(malformed(ExportDefect::Duplicate));
        }
        let delta = i64::from(i32::from_le_bytes(word(4)));
        let address = note.vaddr.wrapping_add(4).wrapping_add_signed(delta);
        let in_code = layout.loads.iter().any(|(_, ph)| {
            ph.p_flags & PF_X != 0 && ph.p_vaddr <= address && address - ph.p_vaddr < ph.p_filesz
        });
        if !in_code {
            return Err(ImageProblem::ExportNotExecutable {
                export: name.into(),
                address,
            });
        }
        exports.push(Export {
            name: name.into(),
            offset: address - layout.base,
        });
    }
    Ok(exports)
}

/// Checks that the image defines every export in `declared` (the manifest's `exports=`
/// of `compartment`).
///
/// # Errors
/// [`ImageProblem::MissingExport`] naming the first declared export the table lacks.
pub fn check_declared<'a>(
    plan: &ImagePlan,
    compartment: &str,
    declared: impl IntoIterator<Item = &'a str>,
) -> Result<(), ImageProblem> {
    match declared
        .into_iter()
        .find(|name| plan.export(name).is_none())
    {
        None => Ok(()),
        Some(export) => Err(ImageProblem::MissingExport {
            compartment: String::from(compartment),
            export: String::from(export),
        }),
    }
}

const _: () = assert!(NT_EXPORT != tessera_abi::image::NT_ABI_VERSION);
