//! Judging a declaration: its own words first (names, references, hypercall names,
//! `expect`), each problem naming the field at fault, then the kernel's manifest parser
//! on the manifest it becomes.

use super::{CompartmentEntry, Declaration, DeclarationError};
use std::collections::HashMap;
use tessera_core::manifest::{Hypercall, MAX_EXPORT_NAME_LEN, MAX_NAME_LEN, Manifest};
use tessera_core::outcome::Expect;

impl Declaration {
    /// The checks that need the declaration's own words (names, references, `expect`),
    /// then the manifest parser the kernel uses, its errors mapped back to fields.
    pub(super) fn validate(&self) -> Result<(), DeclarationError> {
        if self.compartments.is_empty() {
            return Err(self.error(
                "compartment",
                "declares no compartment (add a [[compartment]] table with a name)",
            ));
        }
        let mut first: HashMap<&str, usize> = HashMap::new();
        for (i, c) in self.compartments.iter().enumerate() {
            let at = format!("compartment[{i}].name");
            check_word(&c.name, MAX_NAME_LEN).map_err(|p| self.error(&at, p))?;
            if let Some(&j) = first.get(c.name.as_str()) {
                let problem = format!("\"{}\" is also the name of compartment[{j}]", c.name);
                return Err(self.error(at, problem));
            }
            first.insert(&c.name, i);
            self.check_compartment(i, c)?;
        }
        self.check_calls(&first)?;
        self.check_grants(&first)?;
        // Everything else (list duplicates, reserved names, sizes, counts) is the
        // kernel's own manifest parser's business: run it now rather than at boot.
        Manifest::parse(&self.manifest_text())
            .map(|_| ())
            .map_err(|e| self.error(self.field_of_line(e.line, &e.field), e.problem))
    }

    /// The rest of compartment `i`'s own words: its package, export and hypercall names
    /// and `expect`.
    fn check_compartment(&self, i: usize, c: &CompartmentEntry) -> Result<(), DeclarationError> {
        let at = |key: &str| format!("compartment[{i}].{key}");
        if let Some(package) = &c.package {
            let ok = !package.is_empty()
                && package
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_');
            if !ok {
                return Err(self.error(
                    at("package"),
                    format!("\"{package}\" is not a package name (A-Z a-z 0-9 _ -)"),
                ));
            }
        }
        for (k, export) in c.exports.iter().enumerate() {
            check_word(export, MAX_EXPORT_NAME_LEN)
                .map_err(|p| self.error(format!("{}[{k}]", at("exports")), p))?;
        }
        for (k, h) in c.hypercalls.iter().flatten().enumerate() {
            if Hypercall::from_name(h).is_none() {
                let known: Vec<&str> = Hypercall::ALL.iter().map(|h| h.name()).collect();
                return Err(self.error(
                    format!("{}[{k}]", at("hypercalls")),
                    format!("no hypercall named \"{h}\" (known: {})", known.join(", ")),
                ));
            }
        }
        if let Some(expect) = &c.expect {
            Expect::parse(expect).map_err(|e| self.error(at("expect"), e.to_string()))?;
        }
        Ok(())
    }

    /// Every `calls` entry names a compartment (`first`: name → index).
    fn check_calls(&self, first: &HashMap<&str, usize>) -> Result<(), DeclarationError> {
        for (i, c) in self.compartments.iter().enumerate() {
            for callee in &c.calls {
                if !first.contains_key(callee.as_str()) {
                    return Err(self.error(
                        format!("compartment[{i}].calls"),
                        format!("no compartment named \"{callee}\""),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Every grant has a name and gives `r` or `rw` to at least one compartment that
    /// exists.
    fn check_grants(&self, first: &HashMap<&str, usize>) -> Result<(), DeclarationError> {
        for (j, g) in self.grants.iter().enumerate() {
            check_word(&g.name, MAX_NAME_LEN)
                .map_err(|p| self.error(format!("grant[{j}].name"), p))?;
            if g.access.0.is_empty() {
                return Err(self.error(
                    format!("grant[{j}].access"),
                    "names no compartment (e.g. access = { client = \"rw\", vault = \"r\" })",
                ));
            }
            for (compartment, access) in &g.access.0 {
                let at = format!("grant[{j}].access.{compartment}");
                if !first.contains_key(compartment.as_str()) {
                    return Err(self.error(at, format!("no compartment named \"{compartment}\"")));
                }
                if access != "r" && access != "rw" {
                    return Err(self.error(at, format!("\"{access}\" is not \"r\" or \"rw\"")));
                }
            }
        }
        Ok(())
    }
}

/// A name as the manifest format allows it: 1 to `max` characters from `a-z 0-9 _ -`.
fn check_word(word: &str, max: usize) -> Result<(), String> {
    if word.is_empty() {
        return Err("empty name".into());
    }
    if word.len() > max {
        return Err(format!("\"{word}\" is longer than {max} characters"));
    }
    if let Some(bad) = word
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-'))
    {
        return Err(format!(
            "\"{word}\" has {bad:?}; names use only a-z 0-9 _ -"
        ));
    }
    Ok(())
}

/// 1-based line and column of byte `offset` of `text`.
pub(super) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, column)
}
