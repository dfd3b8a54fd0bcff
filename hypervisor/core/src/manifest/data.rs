//! `data` lines: read-only data the boot provisions for one compartment (docs/manifest.md,
//! "Provisioned data"). The bytes are the multiboot module named `DATA-NAME`; L1 maps
//! them read-only in that compartment's view only and lists them in its data directory
//! (`tessera_abi::gate::data`).

use super::fields::{check_name, compartment_name, err, key_value};
use super::{MAX_NAME_LEN, ManifestError};
use alloc::format;
use alloc::string::String;

/// Most `data` lines naming one compartment (its data directory's entries).
pub const MAX_DATA_PER_COMPARTMENT: usize = tessera_abi::gate::data::MAX_ENTRIES as usize;
/// The prefix of a data module's name, `DATA-NAME`: no compartment's module starts with
/// it (compartment names are lowercase), and it is a plain file name for the boot media.
pub const MODULE_PREFIX: &str = "DATA-";

/// One `data` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataDecl {
    /// Its name (what `tessera_sdk::data` looks up; the module is `DATA-NAME`).
    pub name: String,
    /// The one compartment it is mapped into, read-only.
    pub compartment: String,
}

impl DataDecl {
    /// The multiboot module that holds its bytes.
    pub fn module(&self) -> String {
        format!("{MODULE_PREFIX}{}", self.name)
    }
}

/// Parses `data NAME compartment=C` (the words after `data`); `earlier` are the data
/// lines before it, with their line numbers.
pub(super) fn parse<'a>(
    line: usize,
    mut words: impl Iterator<Item = &'a str>,
    earlier: &[(DataDecl, usize)],
) -> Result<DataDecl, ManifestError> {
    let name = words
        .next()
        .ok_or_else(|| err(line, "name", "missing the data's name"))?;
    check_name(name, MAX_NAME_LEN).map_err(|p| err(line, "name", p))?;
    if let Some((_, first)) = earlier.iter().find(|(d, _)| d.name == name) {
        let problem = format!("data '{name}' is already declared on line {first}");
        return Err(err(line, "name", problem));
    }
    let mut compartment = None;
    for word in words {
        let (key, value) = key_value(line, word)?;
        if key != "compartment" {
            return Err(err(line, key, "unknown field (expected compartment)"));
        }
        if compartment.is_some() {
            return Err(err(line, key, "given twice"));
        }
        compartment_name(value).map_err(|p| err(line, key, p))?;
        compartment = Some(String::from(value));
    }
    let compartment =
        compartment.ok_or_else(|| err(line, "compartment", "missing compartment=NAME"))?;
    Ok(DataDecl {
        name: name.into(),
        compartment,
    })
}

/// Checks that each data line's compartment exists and none has more than
/// [`MAX_DATA_PER_COMPARTMENT`] entries.
pub(super) fn resolve(
    data: &[(DataDecl, usize)],
    exists: impl Fn(&str) -> bool,
) -> Result<(), ManifestError> {
    for (i, (d, line)) in data.iter().enumerate() {
        if !exists(&d.compartment) {
            let problem = format!("compartment '{}' does not exist", d.compartment);
            return Err(err(*line, "compartment", problem));
        }
        let before = data[..i]
            .iter()
            .filter(|(e, _)| e.compartment == d.compartment)
            .count();
        if before >= MAX_DATA_PER_COMPARTMENT {
            let problem = format!(
                "more than {MAX_DATA_PER_COMPARTMENT} data entries for '{}'",
                d.compartment
            );
            return Err(err(*line, "compartment", problem));
        }
    }
    Ok(())
}
