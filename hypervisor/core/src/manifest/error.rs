//! Why a manifest is refused: the line, the field, and what is wrong.

use alloc::string::String;
use core::fmt;

/// A rejected manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestError {
    /// 1-based line of the problem; 0 for a problem of the manifest as a whole (no
    /// header, no compartment) or of an implicit manifest (the problem names the module).
    pub line: usize,
    /// The field at fault: a key (`exports`, `calls`, `hypercalls`, `stack`, `watchdog`,
    /// `max_depth`, `console`, `size`), a grant's compartment key, `name`, or the directive (`tessera-manifest`,
    /// `compartment`, `grant`).
    pub field: String,
    /// What is wrong, in words.
    pub problem: String,
}

impl ManifestError {
    pub(super) fn new(line: usize, field: &str, problem: String) -> Self {
        Self {
            line,
            field: shown(field),
            problem,
        }
    }
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "manifest, field {}: {}", self.field, self.problem)
        } else {
            write!(
                f,
                "manifest line {}, field {}: {}",
                self.line, self.field, self.problem
            )
        }
    }
}

impl core::error::Error for ManifestError {}

/// Text from the manifest as it appears in a message: at most 40 characters, anything
/// but printable ASCII escaped, so a hostile manifest cannot garble the console.
pub(super) fn shown(text: &str) -> String {
    const MAX: usize = 40;
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == MAX {
            out.push_str("...");
            break;
        }
        if c.is_ascii_graphic() {
            out.push(c);
        } else {
            out.extend(c.escape_default());
        }
    }
    out
}
