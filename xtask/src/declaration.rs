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
//! watchdog = 67108864      # optional: ticks per activation of an export (default 2^26);
//!                          # given, it also bounds `main` (absent: `main` unbounded)
//! max_depth = 16                                 # optional; nested activations, 1..=32
//! console = 65536                                # optional; output budget in bytes
//! expect = "fault:memory"                        # optional; default exit:0
//!                                                 # (also "reject" or "reject:PROBLEM")
//!
//! [[grant]]
//! name = "msg"
//! size = 4096
//! access = { client = "rw", vault = "r" }
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
//! `hypercalls = []` means only `exit` and `panic` (which are always allowed); leaving
//! the key out means every hypercall. `expect` becomes the module's `expect=` argument
//! (see `tessera_core::outcome`): examples normally end with exit code 0 and leave it
//! out; attack scenarios need it.
//!
//! Every problem is reported as `FILE: FIELD: problem`, with FIELD a path such as
//! `compartment[1].calls` (entries counted from 0 in file order), or as
//! `FILE:LINE:COLUMN: problem` when the file is not valid TOML for this schema.

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use tessera_core::manifest::{Hypercall, MAX_EXPORT_NAME_LEN, MAX_NAME_LEN, Manifest};
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
    /// Watchdog ticks per activation; `None`: the default for exports, `main` unbounded.
    pub watchdog: Option<u64>,
    /// Most nested activations; `None`: the manifest's default.
    pub max_depth: Option<u32>,
    /// Console output budget in bytes; `None`: the manifest's default.
    pub console: Option<u64>,
    /// The module's `expect=` value; `None`: exit with code 0.
    pub expect: Option<String>,
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
                .map_or((1, 1), |span| line_column(text, span.start));
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

    /// The manifest (docs/manifest.md, version 1): one `compartment` line per entry in
    /// order, then one `grant` line per grant.
    pub fn manifest_text(&self) -> String {
        let mut out = String::from("tessera-manifest 1\n");
        for c in &self.compartments {
            out.push_str("compartment ");
            out.push_str(&c.name);
            push_list(&mut out, "exports", &c.exports);
            push_list(&mut out, "calls", &c.calls);
            match &c.hypercalls {
                None => {}
                // An empty list still allows what is always allowed; writing nothing
                // would mean "all of them".
                Some(list) if list.is_empty() => out.push_str(" hypercalls=exit,panic"),
                Some(list) => push_list(&mut out, "hypercalls", list),
            }
            for (key, value) in [
                ("stack", c.stack),
                ("watchdog", c.watchdog),
                ("max_depth", c.max_depth.map(u64::from)),
                ("console", c.console),
            ] {
                if let Some(value) = value {
                    out.push_str(&format!(" {key}={value}"));
                }
            }
            out.push('\n');
        }
        for g in &self.grants {
            out.push_str(&format!("grant {} size={}", g.name, g.size));
            for (compartment, access) in &g.access.0 {
                out.push_str(&format!(" {compartment}={access}"));
            }
            out.push('\n');
        }
        out
    }

    fn error(&self, field: impl Into<String>, problem: impl Into<String>) -> DeclarationError {
        DeclarationError {
            file: self.file.clone(),
            field: field.into(),
            problem: problem.into(),
        }
    }

    /// The checks that need the declaration's own words (names, references, `expect`),
    /// then the manifest parser the kernel uses, its errors mapped back to fields.
    fn validate(&self) -> Result<(), DeclarationError> {
        if self.compartments.is_empty() {
            return Err(self.error(
                "compartment",
                "declares no compartment (add a [[compartment]] table with a name)",
            ));
        }
        let mut first: HashMap<&str, usize> = HashMap::new();
        for (i, c) in self.compartments.iter().enumerate() {
            let at = |key: &str| format!("compartment[{i}].{key}");
            check_word(&c.name, MAX_NAME_LEN).map_err(|p| self.error(at("name"), p))?;
            if let Some(&j) = first.get(c.name.as_str()) {
                return Err(self.error(
                    at("name"),
                    format!("\"{}\" is also the name of compartment[{j}]", c.name),
                ));
            }
            first.insert(&c.name, i);
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
            if let Some(list) = &c.hypercalls {
                for (k, h) in list.iter().enumerate() {
                    if Hypercall::from_name(h).is_none() {
                        let known: Vec<&str> = Hypercall::ALL.iter().map(|h| h.name()).collect();
                        return Err(self.error(
                            format!("{}[{k}]", at("hypercalls")),
                            format!("no hypercall named \"{h}\" (known: {})", known.join(", ")),
                        ));
                    }
                }
            }
            if let Some(expect) = &c.expect {
                Expect::parse(expect).map_err(|e| self.error(at("expect"), e.to_string()))?;
            }
        }
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
        // Everything else (list duplicates, reserved names, sizes, counts) is the
        // kernel's own manifest parser's business: run it now rather than at boot.
        Manifest::parse(&self.manifest_text())
            .map(|_| ())
            .map_err(|e| self.error(self.field_of_line(e.line, &e.field), e.problem))
    }

    /// The declaration field behind `field` of line `line` of [`Self::manifest_text`].
    fn field_of_line(&self, line: usize, field: &str) -> String {
        let n = self.compartments.len();
        match line.checked_sub(2) {
            Some(i) if i < n => match field {
                "compartment" => format!("compartment[{i}]"),
                key => format!("compartment[{i}].{key}"),
            },
            Some(i) if i - n < self.grants.len() => {
                let j = i - n;
                match field {
                    "name" | "size" => format!("grant[{j}].{field}"),
                    "grant" => format!("grant[{j}].access"),
                    compartment => format!("grant[{j}].access.{compartment}"),
                }
            }
            _ => field.to_owned(),
        }
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

fn push_list(out: &mut String, key: &str, items: &[String]) {
    if !items.is_empty() {
        out.push_str(&format!(" {key}={}", items.join(",")));
    }
}

/// 1-based line and column of byte `offset` of `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VAULT: &str = r#"
[[compartment]]
name = "vault"
exports = ["sign", "verify"]

[[compartment]]
name = "client"
calls = ["vault"]
hypercalls = ["exit", "console", "panic", "lookup", "grant"]

[[grant]]
name = "msg"
size = 4096
access = { client = "rw", vault = "r" }
"#;

    fn example(text: &str) -> Result<Declaration, DeclarationError> {
        Declaration::parse(
            "examples/vault/tessera.toml",
            Kind::Example("vault".into()),
            text,
        )
    }

    fn error(text: &str) -> String {
        example(text).unwrap_err().to_string()
    }

    #[test]
    fn the_manifest_docs_example_round_trips() {
        let d = example(VAULT).unwrap();
        assert_eq!(
            d.manifest_text(),
            "tessera-manifest 1\n\
             compartment vault exports=sign,verify\n\
             compartment client calls=vault hypercalls=exit,console,panic,lookup,grant\n\
             grant msg size=4096 client=rw vault=r\n"
        );
        assert_eq!(d.packages(), ["vault-vault", "vault-client"]);
        assert_eq!(Declaration::module_args(&d.compartments[1]), "");
        assert_eq!(Declaration::expected(&d.compartments[1]), Expect::Exit(0));
        assert_eq!(d.kind.label(), "example-vault");
        let parsed = Manifest::parse(&d.manifest_text()).unwrap();
        assert!(parsed.may_call(1, 0) && !parsed.may_call(0, 1));
    }

    #[test]
    fn scenario_packages_are_the_compartment_names_unless_overridden() {
        let d = Declaration::parse(
            "compartments/scenarios/forge/tessera.toml",
            Kind::Scenario("forge".into()),
            r#"
[[compartment]]
name = "victim"
exports = ["get"]
stack = 8192

[[grant]]
name = "loot"
size = 8192
access = { victim = "rw", twin = "r", attack-forge = "r" }

[[compartment]]
name = "attack-forge"
calls = ["victim"]
expect = "fault:gate"

[[compartment]]
name = "twin"
package = "victim"
hypercalls = []
expect = "exit:3"
"#,
        )
        .unwrap();
        assert_eq!(d.packages(), ["victim", "attack-forge"]);
        assert_eq!(d.package_of(&d.compartments[2]), "victim");
        assert_eq!(
            Declaration::module_args(&d.compartments[1]),
            "expect=fault:gate"
        );
        assert_eq!(
            Declaration::expected(&d.compartments[1]),
            Expect::Fault(Some("gate".into()))
        );
        assert_eq!(Declaration::expected(&d.compartments[2]), Expect::Exit(3));
        assert_eq!(
            d.manifest_text(),
            "tessera-manifest 1\n\
             compartment victim exports=get stack=8192\n\
             compartment attack-forge calls=victim\n\
             compartment twin hypercalls=exit,panic\n\
             grant loot size=8192 victim=rw twin=r attack-forge=r\n"
        );
        assert_eq!(d.kind.label(), "scenario-forge");
    }

    #[test]
    fn references_name_the_file_and_the_field() {
        let typo = VAULT.replace(r#"calls = ["vault"]"#, r#"calls = ["valt"]"#);
        assert_eq!(
            error(&typo),
            r#"examples/vault/tessera.toml: compartment[1].calls: no compartment named "valt""#
        );
        let grant = VAULT.replace("vault = \"r\" }", "valt = \"r\" }");
        assert_eq!(
            error(&grant),
            r#"examples/vault/tessera.toml: grant[0].access.valt: no compartment named "valt""#
        );
        let mode = VAULT.replace("vault = \"r\" }", "vault = \"x\" }");
        assert_eq!(
            error(&mode),
            r#"examples/vault/tessera.toml: grant[0].access.vault: "x" is not "r" or "rw""#
        );
        let twice = VAULT.replace(r#"name = "client""#, r#"name = "vault""#);
        assert_eq!(
            error(&twice),
            r#"examples/vault/tessera.toml: compartment[1].name: "vault" is also the name of compartment[0]"#
        );
    }

    #[test]
    fn names_hypercalls_and_expect_are_checked() {
        let upper = VAULT.replace(r#"name = "client""#, r#"name = "Client""#);
        assert!(
            error(&upper).starts_with("examples/vault/tessera.toml: compartment[1].name: "),
            "{}",
            error(&upper)
        );
        let space = VAULT.replace(r#""sign", "verify""#, r#""sign", "ver ify""#);
        assert!(
            error(&space).contains("compartment[0].exports[1]: \"ver ify\" has ' '"),
            "{}",
            error(&space)
        );
        let hypercall = VAULT.replace(r#""lookup", "grant""#, r#""lookup", "grnt""#);
        assert!(
            error(&hypercall).contains(
                r#"compartment[1].hypercalls[4]: no hypercall named "grnt" (known: exit,"#
            ),
            "{}",
            error(&hypercall)
        );
        let expect = VAULT.replace(
            r#"calls = ["vault"]"#,
            "calls = [\"vault\"]\nexpect = \"crash\"",
        );
        assert_eq!(
            error(&expect),
            "examples/vault/tessera.toml: compartment[1].expect: \
             expect=crash is not one of exit:N, fault, fault:KIND, reject, reject:PROBLEM, aborted"
        );
        assert_eq!(
            error(""),
            "examples/vault/tessera.toml: compartment: declares no compartment \
             (add a [[compartment]] table with a name)"
        );
        let empty_grant =
            VAULT.replace("access = { client = \"rw\", vault = \"r\" }", "access = {}");
        assert!(
            error(&empty_grant).contains("grant[0].access: names no compartment"),
            "{}",
            error(&empty_grant)
        );
    }

    #[test]
    fn the_kernel_parsers_rules_come_back_as_fields() {
        let stack = VAULT.replace(r#"exports = ["sign", "verify"]"#, "stack = 5000");
        let e = example(&stack).unwrap_err();
        assert_eq!(e.field, "compartment[0].stack");
        assert!(e.problem.contains("5000"), "{e}");
        let size = VAULT.replace("size = 4096", "size = 100");
        assert_eq!(example(&size).unwrap_err().field, "grant[0].size");
        let dup = VAULT.replace(r#""sign", "verify""#, r#""sign", "sign""#);
        assert_eq!(example(&dup).unwrap_err().field, "compartment[0].exports");
        let reserved = VAULT.replace(r#"name = "client""#, r#"name = "manifest""#);
        let reserved = reserved.replace("client = \"rw\", ", "");
        assert_eq!(example(&reserved).unwrap_err().field, "compartment[1].name");
        let own = VAULT.replace(r#"calls = ["vault"]"#, r#"calls = ["client"]"#);
        assert_eq!(example(&own).unwrap_err().field, "compartment[1].calls");
    }

    #[test]
    fn limits_reach_the_manifest_and_their_errors_name_the_field() {
        let limits = VAULT.replace(
            r#"calls = ["vault"]"#,
            "calls = [\"vault\"]\nwatchdog = 67108864\nmax_depth = 4\nconsole = 0",
        );
        let d = example(&limits).unwrap();
        assert!(
            d.manifest_text().contains(
                "compartment client calls=vault hypercalls=exit,console,panic,lookup,grant \
                 watchdog=67108864 max_depth=4 console=0\n"
            ),
            "{}",
            d.manifest_text()
        );
        let parsed = Manifest::parse(&d.manifest_text()).unwrap();
        let client = &parsed.compartments[1];
        assert_eq!(client.main_watchdog(), Some(1 << 26));
        assert_eq!((client.max_depth, client.console), (4, 0));
        // Left out, nothing is written: the vault's main stays unbounded.
        assert_eq!(parsed.compartments[0].main_watchdog(), None);
        for (key, value, problem) in [
            ("watchdog", "5", "5 is not from 1024 to 1099511627776 ticks"),
            ("max_depth", "33", "33 is not from 1 to 32 activations"),
            (
                "console",
                "16777217",
                "16777217 is not from 0 to 16777216 bytes",
            ),
        ] {
            let bad = VAULT.replace(
                r#"exports = ["sign", "verify"]"#,
                &format!("exports = [\"sign\"]\n{key} = {value}"),
            );
            assert_eq!(
                error(&bad),
                format!("examples/vault/tessera.toml: compartment[0].{key}: {problem}")
            );
        }
        let negative = VAULT.replace(
            r#"calls = ["vault"]"#,
            "calls = [\"vault\"]\nmax_depth = -1",
        );
        assert!(
            error(&negative).starts_with("examples/vault/tessera.toml:9:"),
            "{}",
            error(&negative)
        );
    }

    #[test]
    fn toml_errors_give_line_and_column() {
        let unknown = VAULT.replace("exports = [", "export = [");
        let e = error(&unknown);
        assert!(
            e.starts_with("examples/vault/tessera.toml:4:1: unknown field `export`"),
            "{e}"
        );
        let wrong_type = VAULT.replace("size = 4096", "size = \"4096\"");
        let e = error(&wrong_type);
        assert!(e.starts_with("examples/vault/tessera.toml:13:8: "), "{e}");
        let no_name = "[[compartment]]\nexports = [\"x\"]\n";
        let e = error(no_name);
        assert!(e.contains("missing field `name`"), "{e}");
    }

    #[test]
    fn line_columns_are_one_based() {
        assert_eq!(line_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("ab\n", 99), (2, 1));
    }
}
