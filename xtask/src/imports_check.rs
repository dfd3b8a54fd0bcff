//! The build-time import check: every typed call a compartment's code makes (an import
//! note the SDK's `interface!` stub wrote, `tessera_abi::image::NT_IMPORT`, docs/images.md)
//! must be allowed by the declaration (`tessera.toml`) and served by the callee's image:
//! - the callee is in this compartment's `calls`;
//! - the export is in the callee's `exports`;
//! - the callee's image serves it from the same interface: its signature note
//!   (`NT_SIGNATURE`) has the same fingerprint.
//!
//! Each error names the file and the field to change, and the import that needs it, e.g.
//! `examples/kv/tessera.toml: compartment[2].calls: compartment "frontend": calls lacks
//! "store" (its code imports store.get)`. The hypervisor ignores both notes: this check
//! is the tooling's, outside the TCB.

use crate::declaration::{Declaration, Expect};
use anyhow::{Context, Result, bail};
use goblin::elf::Elf;
use std::collections::BTreeSet;
use std::path::Path;
use tessera_abi::image::{FINGERPRINT_SIZE, NT_IMPORT, NT_SIGNATURE};

/// One typed call an image's code makes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Import {
    pub compartment: String,
    pub export: String,
    pub fingerprint: u64,
}

/// What an image's notes say about typed calls.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Notes {
    /// Its imports, each once.
    pub imports: BTreeSet<Import>,
    /// `(export, fingerprint)` of each typed export it serves.
    pub signatures: BTreeSet<(String, u64)>,
}

fn fingerprint_and_rest(desc: &[u8]) -> Option<(u64, &str)> {
    let (head, rest) = desc.split_at_checked(FINGERPRINT_SIZE)?;
    let fingerprint = u64::from_le_bytes(head.try_into().ok()?);
    Some((fingerprint, std::str::from_utf8(rest).ok()?))
}

/// An `NT_IMPORT` descriptor: fingerprint, compartment, NUL, export.
pub fn parse_import(desc: &[u8]) -> Option<Import> {
    let (fingerprint, rest) = fingerprint_and_rest(desc)?;
    let (compartment, export) = rest.split_once('\0')?;
    Some(Import {
        compartment: compartment.to_owned(),
        export: export.to_owned(),
        fingerprint,
    })
}

/// The typed-call notes of an ELF image.
///
/// # Errors
/// The file cannot be read or is not ELF, or a note of ours is malformed.
pub fn read(path: &Path) -> Result<Notes> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let elf = Elf::parse(&bytes).with_context(|| format!("parsing {}", path.display()))?;
    let mut notes = Notes::default();
    let Some(iter) = elf.iter_note_headers(&bytes) else {
        return Ok(notes);
    };
    for note in iter {
        let note = note.with_context(|| format!("reading the notes of {}", path.display()))?;
        if note.name != "TESSERA" {
            continue;
        }
        let bad = || format!("{}: malformed note of type {}", path.display(), note.n_type);
        match note.n_type {
            NT_IMPORT => {
                notes
                    .imports
                    .insert(parse_import(note.desc).with_context(bad)?);
            }
            NT_SIGNATURE => {
                let (fingerprint, name) = fingerprint_and_rest(note.desc).with_context(bad)?;
                notes.signatures.insert((name.to_owned(), fingerprint));
            }
            _ => {}
        }
    }
    Ok(notes)
}

/// Checks every import of every compartment of `d` (`notes_of(package)` reads an image's
/// notes). Compartments expected to be rejected are skipped, as their images never run.
///
/// # Errors
/// The first import the declaration or the callee's image does not allow.
pub fn check(d: &Declaration, notes_of: impl Fn(&str) -> Result<Notes>) -> Result<()> {
    let runs = |c: &crate::declaration::CompartmentEntry| {
        !matches!(Declaration::expected(c), Expect::Reject(_))
    };
    for (i, c) in d.compartments.iter().enumerate().filter(|(_, c)| runs(c)) {
        let notes = notes_of(&d.package_of(c))?;
        for import in &notes.imports {
            let what = format!("its code imports {}.{}", import.compartment, import.export);
            if !c.calls.contains(&import.compartment) {
                bail!(
                    "{}: compartment[{i}].calls: compartment \"{}\": calls lacks \"{}\" ({what})",
                    d.file,
                    c.name,
                    import.compartment
                );
            }
            let Some((j, callee)) = d
                .compartments
                .iter()
                .enumerate()
                .find(|(_, t)| t.name == import.compartment)
            else {
                // `calls` names only declared compartments (the declaration checks it).
                continue;
            };
            if !callee.exports.contains(&import.export) {
                bail!(
                    "{}: compartment[{j}].exports: compartment \"{}\": exports lacks \"{}\" \
                     (compartment \"{}\"'s code imports {}.{})",
                    d.file,
                    callee.name,
                    import.export,
                    c.name,
                    import.compartment,
                    import.export
                );
            }
            if !runs(callee) {
                continue;
            }
            let served = notes_of(&d.package_of(callee))?;
            signature(d, (i, c), (j, callee), &served, import)?;
        }
    }
    Ok(())
}

/// The callee's image serves `import` from the same interface.
fn signature(
    d: &Declaration,
    (i, c): (usize, &crate::declaration::CompartmentEntry),
    (j, callee): (usize, &crate::declaration::CompartmentEntry),
    served: &Notes,
    import: &Import,
) -> Result<()> {
    let found = served
        .signatures
        .iter()
        .find(|(name, _)| *name == import.export);
    match found {
        Some((_, fp)) if *fp == import.fingerprint => Ok(()),
        Some((_, fp)) => bail!(
            "{}: compartment[{j}]: compartment \"{}\" serves {} with signature {fp:#018x}, but \
             compartment \"{}\" (compartment[{i}]) calls it with signature {:#018x}: they were \
             built from different versions of the interface; rebuild both from one",
            d.file,
            callee.name,
            import.export,
            c.name,
            import.fingerprint
        ),
        None => bail!(
            "{}: compartment[{j}]: compartment \"{}\" does not serve {} from an interface \
             (package {}: no tessera_sdk::serve! of the interface compartment \"{}\" \
             imports it from)",
            d.file,
            callee.name,
            import.export,
            d.package_of(callee),
            c.name
        ),
    }
}

#[cfg(test)]
mod tests;
