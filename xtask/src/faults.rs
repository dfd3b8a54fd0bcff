//! The runner's fault report: every `@@FAULT` of a boot, with the function it happened
//! in (`symbol=crate::path::fn+0xOFF`, from the symbol table) and the source line
//! (`source=FILE:LINE`, from the line tables: the innermost frame of the inlined chain
//! outside the standard library), found in the ELF image xtask booted for that
//! compartment at the line's `offset=` (docs/debugging.md).
//!
//! Symbolisation stays outside the hypervisor: L1 prints `rip=` and `offset=` only.
//! The raw transcript (`com1.txt`) is never changed; the runner writes
//! [`ANNOTATED_FILE`] next to it, the same lines with ` symbol=...` (and ` source=...`)
//! appended to each `@@FAULT` line whose offset names a function.

use crate::image::Module;
use crate::symbols::{self, Symbols};
use crate::transcript::{Transcript, decode_value};
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use tessera_core::outcome::encode_value;

/// The annotated copy of `com1.txt` in a run directory.
pub const ANNOTATED_FILE: &str = "com1.annotated.txt";

/// One contained fault, as the runner reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// Index of its `@@FAULT` line in the transcript's lines.
    pub line: usize,
    pub compartment: String,
    pub kind: String,
    /// `offset=`: where RIP was in the compartment's image, if it was in it.
    pub offset: Option<u64>,
    /// `crate::path::fn+0xOFF`, from the compartment's ELF; `None` when the offset is
    /// missing, the image is unknown or no function covers it.
    pub symbol: Option<String>,
    /// `FILE:LINE` of the innermost inlined frame outside the standard library (relative
    /// to the workspace when inside it), from the ELF's line tables.
    pub source: Option<String>,
    /// `message=` decoded (a panic's `panicked at FILE:LINE:COL: ...`).
    pub message: Option<String>,
}

impl Fault {
    /// One line for people: `NAME kind=KIND offset=HEX symbol=FN+OFF` (what is known).
    pub fn summary(&self) -> String {
        let mut s = format!("{} kind={}", self.compartment, self.kind);
        if let Some(offset) = self.offset {
            let _ = write!(s, " offset={offset:#x}");
        }
        if let Some(symbol) = &self.symbol {
            let _ = write!(s, " symbol={symbol}");
        }
        if let Some(source) = &self.source {
            let _ = write!(s, " source={source}");
        }
        s
    }
}

/// Every `@@FAULT` of `transcript`, each named from the ELF of the module booted under
/// the compartment's name (a module that is not an ELF file names nothing).
pub fn find(transcript: &Transcript, modules: &[Module]) -> Vec<Fault> {
    let mut images: BTreeMap<&str, Option<Symbols>> = BTreeMap::new();
    let mut faults = Vec::new();
    for (line, text) in transcript.lines.iter().enumerate() {
        let Some(record) = crate::transcript::Record::parse(text) else {
            continue;
        };
        if record.word != "FAULT" {
            continue;
        }
        let compartment = record.get("compartment").unwrap_or_default().to_owned();
        let offset = record
            .get("offset")
            .and_then(|o| u64::from_str_radix(o.strip_prefix("0x")?, 16).ok());
        let module = modules.iter().find(|m| m.name == compartment);
        let (symbol, source) = match (offset, module) {
            (Some(offset), Some(module)) => {
                let symbols = images
                    .entry(module.name.as_str())
                    .or_insert_with(|| Symbols::read(&module.path).ok());
                let symbol = symbols.as_ref().and_then(|s| s.at(offset));
                let source = symbol
                    .as_ref()
                    .and_then(|_| source_line(&module.path, offset));
                (symbol.map(|at| at.to_string()), source)
            }
            _ => (None, None),
        };
        faults.push(Fault {
            line,
            compartment,
            kind: record.get("kind").unwrap_or_default().to_owned(),
            offset,
            symbol,
            source,
            message: record.get("message").and_then(decode_value),
        });
    }
    faults
}

/// The innermost frame of the inlined chain at `offset` outside the standard library
/// (`/rustc/...`), as `FILE:LINE`, relative to the workspace when inside it.
fn source_line(elf: &Path, offset: u64) -> Option<String> {
    let frame = symbols::frames(elf, offset)
        .into_iter()
        .find(|f| !f.location.starts_with("/rustc/"))?;
    let root = format!("{}/", crate::paths::workspace_root().display());
    let location = frame
        .location
        .strip_prefix(&root)
        .unwrap_or(&frame.location);
    Some(location.to_owned())
}

/// The transcript's lines with ` symbol=VALUE` and ` source=VALUE` appended to each
/// `@@FAULT` line that has them (encoded as every `@@` text value is: a demangled name
/// may hold spaces, `<T as Trait>::f`).
pub fn annotate(transcript: &Transcript, faults: &[Fault]) -> String {
    let mut out = String::new();
    for (i, line) in transcript.lines.iter().enumerate() {
        out.push_str(line);
        if let Some(fault) = faults.iter().find(|f| f.line == i) {
            for (key, value) in [("symbol", &fault.symbol), ("source", &fault.source)] {
                if let Some(value) = value {
                    let _ = write!(out, " {key}={}", encode_value(value));
                }
            }
        }
        out.push('\n');
    }
    out
}

/// Writes [`ANNOTATED_FILE`] into `run_dir`.
pub fn write_annotated(run_dir: &Path, transcript: &Transcript, faults: &[Fault]) -> Result<()> {
    let path = run_dir.join(ANNOTATED_FILE);
    fs::write(&path, annotate(transcript, faults))
        .with_context(|| format!("writing {}", path.display()))
}

/// The report section for people: one line per fault, a panic's message under it.
pub fn report(faults: &[Fault]) -> String {
    let mut s = String::new();
    for fault in faults {
        let _ = writeln!(s, "  {}", fault.summary());
        if let Some(message) = fault.message.as_deref().filter(|m| !m.is_empty()) {
            for line in message.lines() {
                let _ = writeln!(s, "    {}", line.escape_debug());
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn hello_module(name: &str) -> Module {
        let path =
            crate::paths::workspace_root().join("hypervisor/core/tests/fixtures/elf/hello.elf");
        Module::new(path, name)
    }

    const TRANSCRIPT: &str = "\
@@LOAD compartment=a base=0x1000000 entry=0x1002c20 span=0x19000
[a] about to fall over
@@FAULT compartment=a kind=exception vector=6 name=invalid-opcode rip=0x1002c0c offset=0x2c0c
@@FAULT compartment=b kind=panic message=panicked%20at%20src/main.rs:3:5:%20100%25%20bad rip=0x1202bc0 offset=0x2bc0
@@FAULT compartment=c kind=memory gpa=0x0 access=execute allowed=--- rip=0x0
@@RESULT pass
";

    /// hello.elf's `core::ops::function::FnOnce::call_once` is at 0x2bc0 (readelf -s).
    #[test]
    fn faults_are_named_from_the_image_booted_under_the_compartments_name() {
        let t = Transcript::parse(TRANSCRIPT);
        let modules = [
            hello_module("a"),
            Module::new(PathBuf::from("/nonexistent/b.elf"), "b"),
        ];
        let faults = find(&t, &modules);
        assert_eq!(faults.len(), 3);
        assert_eq!(faults[0].line, 2);
        assert_eq!(faults[0].offset, Some(0x2c0c));
        assert_eq!(
            faults[0].symbol.as_deref(),
            Some("core::ops::function::FnOnce::call_once+0x4c")
        );
        assert_eq!(
            faults[0].summary(),
            "a kind=exception offset=0x2c0c symbol=core::ops::function::FnOnce::call_once+0x4c"
        );
        // b's image cannot be read: the fault is still reported, without a name.
        assert_eq!(faults[1].symbol, None);
        assert_eq!(
            faults[1].message.as_deref(),
            Some("panicked at src/main.rs:3:5: 100% bad")
        );
        // c's RIP was outside its image: no offset, nothing to name.
        assert_eq!(
            (faults[2].offset, faults[2].symbol.as_deref()),
            (None, None)
        );
        let report = report(&faults);
        assert!(
            report.contains("    panicked at src/main.rs:3:5: 100% bad\n"),
            "{report}"
        );
    }

    #[test]
    fn the_annotated_copy_adds_symbol_to_fault_lines_only() {
        let t = Transcript::parse(TRANSCRIPT);
        let faults = find(&t, &[hello_module("a"), hello_module("b")]);
        let text = annotate(&t, &faults);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), t.lines.len());
        assert_eq!(
            lines[2],
            format!(
                "{} symbol=core::ops::function::FnOnce::call_once+0x4c",
                t.lines[2]
            )
        );
        assert_eq!(
            lines[3],
            format!(
                "{} symbol=core::ops::function::FnOnce::call_once+0x0",
                t.lines[3]
            )
        );
        for i in [0, 1, 4, 5] {
            assert_eq!(lines[i], t.lines[i]);
        }
        // Still one record per line, the symbol a key like any other.
        let annotated = Transcript::parse(&text);
        let fault = annotated.records("FAULT").next().expect("a fault");
        assert_eq!(
            fault.get("symbol"),
            Some("core::ops::function::FnOnce::call_once+0x4c")
        );
        // A name with spaces is encoded as every @@ text value is.
        let spaced = vec![Fault {
            symbol: Some("<T as core::fmt::Display>::fmt+0x3".into()),
            ..faults[0].clone()
        }];
        assert!(annotate(&t, &spaced).contains(" symbol=<T%20as%20core::fmt::Display>::fmt+0x3\n"));
    }
}
