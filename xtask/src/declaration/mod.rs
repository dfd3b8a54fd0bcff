//! Declarations: a `tessera.toml` names an application's compartments, what each
//! exports, which may call which, the memory they share and what each is expected to do.
//! From one, xtask derives the packages to build and the manifest the kernel reads
//! (docs/manifest.md), so nobody writes the manifest format by hand.
//!
//! ```toml
//! [[compartment]]
//! name = "vault"
//! exports = ["sign"]
//!
//! [[compartment]]
//! name = "client"
//! calls = ["vault"]
//! hypercalls = ["console", "lookup", "grant"]   # optional; default: all of them
//! stack = 65536                                  # optional; default 65536
//! heap = 65536             # optional; default 65536 (4096-byte multiples, at most 64 MiB)
//! watchdog = 67108864      # optional: ticks per activation of an export (default 2^26);
//!                          # given, it also bounds `main` (absent: `main` unbounded)
//! max_depth = 16                                 # optional; nested activations, 1..=32
//! console = 65536                                # optional; output budget in bytes
//! restart = "on-fault"     # optional; "never" (default) or "on-fault": after a fault,
//!                          # L1 restarts it from its pristine image
//! max_restarts = 3                               # optional; with on-fault, default 3
//! call_buffer = 4096       # optional; bytes of each call buffer of a `calls` edge into
//!                          # this compartment (4096-byte multiples, at most 1 MiB)
//! concurrency = "serial"   # optional; "serial" (default: a call from another vCPU while
//!                          # it is busy on one is refused, Busy) or "parallel"
//! cpu = 0                  # optional; the vCPU (0-based) that runs its `main`, default 0;
//!                          # "all": on every vCPU at once (needs "parallel")
//! expect = "fault:memory"                        # optional; default exit:0
//!                                                 # (also "reject" or "reject:PROBLEM")
//!
//! [[grant]]
//! name = "msg"
//! size = 4096
//! access = { client = "rw", vault = "r" }
//!
//! [[data]]                 # optional: read-only data for one compartment
//! name = "key"             # tessera_sdk::data("key") in that compartment
//! compartment = "vault"
//! file = "key.bin"         # relative to this file's directory
//! ```
//!
//! **Which package is a compartment's image** (unless its entry says `package = "..."`):
//! - in `examples/EX/tessera.toml`, compartment `NAME` is package `EX-NAME` (the crate in
//!   `examples/EX/NAME/`);
//! - in `compartments/scenarios/S/tessera.toml`, compartment `NAME` is package `NAME`
//!   (the crate in `compartments/NAME/`), so scenarios share the first-party test
//!   compartments.
//!
//! The image is the package's binary of the same name (the default for `src/main.rs`).
//!
//! `hypercalls = []` means only `exit`, `panic` and `out_of_memory` (always allowed); leaving
//! the key out means every hypercall. `expect` becomes the module's `expect=` argument
//! (see `tessera_core::outcome`): examples normally end with exit code 0 and leave it
//! out; attack scenarios need it.
//!
//! Every problem is reported as `FILE: FIELD: problem`, with FIELD a path such as
//! `compartment[1].calls` (entries counted from 0 in file order), or as
//! `FILE:LINE:COLUMN: problem` when the file is not valid TOML for this schema.
//!
//! Reading is here; the checks are in `validate.rs`, writing the manifest and mapping a
//! manifest error back to a declaration field in `manifest.rs`.

mod manifest;
#[cfg(test)]
mod tests;
mod validate;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use std::fmt;
use std::path::Path;
/// What a compartment is expected to do (`expect=`), as the kernel reads it.
pub use tessera_core::outcome::Expect;

/// The name of the multiboot module that carries the manifest.
pub const MANIFEST_MODULE: &str = "manifest";
/// The file name of a declaration inside its directory.
pub const FILE_NAME: &str = "tessera.toml";

/// Where a declaration lives, which decides how its packages are named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `examples/EX/tessera.toml`: compartment `NAME` is package `EX-NAME`.
    Example(String),
    /// `compartments/scenarios/S/tessera.toml`: compartment `NAME` is package `NAME`.
    Scenario(String),
}

impl Kind {
    /// A file-name-safe label: `example-vault`, `scenario-forge`.
    pub fn label(&self) -> String {
        match self {
            Kind::Example(name) => format!("example-{name}"),
            Kind::Scenario(name) => format!("scenario-{name}"),
        }
    }

    /// The package of compartment `name` when its entry does not say `package=`.
    pub fn default_package(&self, name: &str) -> String {
        match self {
            Kind::Example(example) => format!("{example}-{name}"),
            Kind::Scenario(_) => name.to_owned(),
        }
    }
}

/// A `tessera.toml` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEntries {
    #[serde(default)]
    compartment: Vec<CompartmentEntry>,
    #[serde(default)]
    grant: Vec<GrantEntry>,
    #[serde(default)]
    data: Vec<DataEntry>,
}

/// One `[[compartment]]` table.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompartmentEntry {
    /// Compartment name: also the multiboot module's name.
    pub name: String,
    /// The package whose binary is the image (see the module docs for the default).
    pub package: Option<String>,
    #[serde(default)]
    pub exports: Vec<String>,
    #[serde(default)]
    pub calls: Vec<String>,
    /// `None`: every hypercall.
    pub hypercalls: Option<Vec<String>>,
    /// Stack bytes; `None`: the manifest's default.
    pub stack: Option<u64>,
    /// Heap bytes; `None`: the manifest's default (64 KiB).
    pub heap: Option<u64>,
    /// Watchdog ticks per activation; `None`: the default for exports, `main` unbounded.
    pub watchdog: Option<u64>,
    /// Most nested activations; `None`: the manifest's default.
    pub max_depth: Option<u32>,
    /// Console output budget in bytes; `None`: the manifest's default.
    pub console: Option<u64>,
    /// `"never"` or `"on-fault"`; `None`: never.
    pub restart: Option<String>,
    /// Most restarts over the boot (with `restart = "on-fault"`); `None`: the default.
    pub max_restarts: Option<u32>,
    /// Bytes of each call buffer into this compartment; `None`: the default (4096).
    pub call_buffer: Option<u64>,
    /// `"serial"` or `"parallel"`; `None`: serial.
    pub concurrency: Option<String>,
    /// The vCPU (0-based) that runs its `main`, or `"all"`; `None`: 0.
    pub cpu: Option<Cpu>,
    /// The module's `expect=` value; `None`: exit with code 0.
    pub expect: Option<String>,
}

/// A compartment's `cpu`: a vCPU index, or a word (`"all"`, checked with the rest of the
/// manifest by core, which names the field).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Cpu {
    Index(u32),
    Word(String),
}

impl std::fmt::Display for Cpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cpu::Index(k) => write!(f, "{k}"),
            Cpu::Word(w) => f.write_str(w),
        }
    }
}

/// One `[[data]]` table: read-only data for one compartment (docs/manifest.md
/// "Provisioned data"), passed as the multiboot module `DATA-NAME`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataEntry {
    pub name: String,
    pub compartment: String,
    /// The file, relative to the declaration's directory.
    pub file: String,
}

/// One `[[grant]]` table.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantEntry {
    pub name: String,
    pub size: u64,
    /// `(compartment, "r" | "rw")` in the order written.
    pub access: AccessList,
}

/// A grant's `access = { NAME = "r" | "rw", ... }`, in the order written (toml's
/// `preserve_order` feature keeps it; the manifest lists grant access in that order).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessList(pub Vec<(String, String)>);

impl<'de> Deserialize<'de> for AccessList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Ordered;
        impl<'de> Visitor<'de> for Ordered {
            type Value = AccessList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a table of compartment = "r" or "rw""#)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AccessList, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, String>()? {
                    entries.push(entry);
                }
                Ok(AccessList(entries))
            }
        }
        deserializer.deserialize_map(Ordered)
    }
}

/// A refused declaration: the file, and the field or position at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeclarationError {
    /// The file as shown (relative to the workspace root when it is inside it).
    pub file: String,
    /// `compartment[1].calls`, `grant[0].access.vault`, or `LINE:COLUMN` for TOML errors.
    pub field: String,
    pub problem: String,
}

impl fmt::Display for DeclarationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.starts_with(|c: char| c.is_ascii_digit()) {
            write!(f, "{}:{}: {}", self.file, self.field, self.problem)
        } else {
            write!(f, "{}: {}: {}", self.file, self.field, self.problem)
        }
    }
}

impl std::error::Error for DeclarationError {}

/// A validated declaration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Declaration {
    /// The file, as shown in messages.
    pub file: String,
    pub kind: Kind,
    /// In view order (view 0 first).
    pub compartments: Vec<CompartmentEntry>,
    pub grants: Vec<GrantEntry>,
    pub data: Vec<DataEntry>,
}

impl Declaration {
    /// Reads and validates `path`; messages show it as `shown`.
    pub fn load(path: &Path, shown: &str, kind: Kind) -> Result<Declaration, DeclarationError> {
        let text = std::fs::read_to_string(path).map_err(|e| DeclarationError {
            file: shown.to_owned(),
            field: "file".into(),
            problem: format!("cannot be read: {e}"),
        })?;
        Declaration::parse(shown, kind, &text)
    }

    /// Parses and validates the text of a declaration called `file` in messages.
    pub fn parse(file: &str, kind: Kind, text: &str) -> Result<Declaration, DeclarationError> {
        let entries: FileEntries = toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map_or((1, 1), |span| validate::line_column(text, span.start));
            DeclarationError {
                file: file.to_owned(),
                field: format!("{line}:{column}"),
                problem: e.message().trim_end().to_owned(),
            }
        })?;
        let declaration = Declaration {
            file: file.to_owned(),
            kind,
            compartments: entries.compartment,
            grants: entries.grant,
            data: entries.data,
        };
        declaration.validate()?;
        Ok(declaration)
    }

    /// The packages to build, each once, in declaration order.
    pub fn packages(&self) -> Vec<String> {
        let mut packages: Vec<String> = Vec::new();
        for c in &self.compartments {
            let package = self.package_of(c);
            if !packages.contains(&package) {
                packages.push(package);
            }
        }
        packages
    }

    /// The package whose binary is compartment `c`'s image.
    pub fn package_of(&self, c: &CompartmentEntry) -> String {
        c.package
            .clone()
            .unwrap_or_else(|| self.kind.default_package(&c.name))
    }

    /// The arguments of compartment `c`'s module line: `expect=...` or nothing.
    pub fn module_args(c: &CompartmentEntry) -> String {
        c.expect
            .as_ref()
            .map(|e| format!("expect={e}"))
            .unwrap_or_default()
    }

    /// What compartment `c` is expected to do (its `expect`, default exit 0).
    pub fn expected(c: &CompartmentEntry) -> Expect {
        c.expect
            .as_deref()
            .and_then(|e| Expect::parse(e).ok())
            .unwrap_or_default()
    }

    fn error(&self, field: impl Into<String>, problem: impl Into<String>) -> DeclarationError {
        DeclarationError {
            file: self.file.clone(),
            field: field.into(),
            problem: problem.into(),
        }
    }
}
