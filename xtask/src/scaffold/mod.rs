//! `cargo xtask new APP --compartments a,b[,c...]`: a new application in `examples/APP/`
//! that boots as generated (`cargo xtask run --example APP`).
//!
//! It writes `examples/APP/tessera.toml`, one crate per compartment (package `APP-NAME`
//! in `examples/APP/NAME/`, the naming of [`crate::declaration`]), the interface crate
//! `examples/APP/interface/` (package `APP-interface`, [`INTERFACE`]) that declares the
//! second compartment's interface with `tessera_sdk::interface!`, and adds the crates to
//! the workspace `members`. The first compartment's `main` calls the second's `greet`
//! with a string and prints the string it gets back; the second computes it in a library
//! without the SDK whose test runs on the host (`cargo xtask test`). Further compartments
//! print a line and exit 0. Names follow the manifest's rules (docs/manifest.md), and an existing
//! `examples/APP` or package name is refused before anything is written.

mod templates;
#[cfg(test)]
mod tests;
mod workspace;

use crate::declaration::{Declaration, Kind};
use anyhow::{Context, Result, bail};
use std::fs;
use std::path::{Path, PathBuf};
use tessera_core::manifest::{MAX_NAME_LEN, RESERVED_NAMES};

/// The directory (in `examples/APP/`) and package suffix of the interface crate; no
/// compartment may have this name.
pub const INTERFACE: &str = "interface";

/// Options of `cargo xtask new`.
#[derive(Clone, Debug, clap::Args)]
pub struct NewArgs {
    /// The application's name: its directory in examples/ and its packages' prefix.
    pub app: String,
    /// Its compartments, at least two: the first calls an export of the second.
    #[arg(long, value_name = "A,B,...", value_delimiter = ',', required = true)]
    pub compartments: Vec<String>,
}

/// A validated application: its name and compartments in the order given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct App {
    pub name: String,
    pub compartments: Vec<String>,
}

impl App {
    /// Checks the names: the app's as a directory and package prefix (a letter, then
    /// `a-z 0-9 _ -`), each compartment's as the manifest wants it, at least two of them,
    /// no repeats. The error names the bad name.
    pub fn new(name: &str, compartments: &[String]) -> Result<App> {
        check_word(name).with_context(|| format!("app name \"{name}\""))?;
        if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
            bail!("app name \"{name}\": starts with a letter a-z (it prefixes Rust crate names)");
        }
        if compartments.len() < 2 {
            bail!(
                "--compartments needs at least two names (the first calls the second), got {}",
                compartments.len()
            );
        }
        for (i, c) in compartments.iter().enumerate() {
            check_word(c).with_context(|| format!("compartment name \"{c}\""))?;
            if RESERVED_NAMES.contains(&c.as_str()) {
                bail!("compartment name \"{c}\": reserved by the manifest format");
            }
            if c == INTERFACE {
                bail!("compartment name \"{c}\": the app's interface crate uses it");
            }
            if compartments[..i].contains(c) {
                bail!("compartment name \"{c}\": given twice");
            }
        }
        Ok(App {
            name: name.to_owned(),
            compartments: compartments.to_vec(),
        })
    }

    /// The compartment whose `main` calls the other's export (the first given).
    pub fn caller(&self) -> &str {
        &self.compartments[0]
    }

    /// The compartment that exports `greet` (the second given).
    pub fn callee(&self) -> &str {
        &self.compartments[1]
    }

    /// The order of `tessera.toml`: callee, caller, then the rest.
    pub fn declared_order(&self) -> Vec<&str> {
        let mut order = vec![self.callee(), self.caller()];
        order.extend(self.compartments[2..].iter().map(String::as_str));
        order
    }

    /// The package of compartment `name`.
    pub fn package(&self, name: &str) -> String {
        Kind::Example(self.name.clone()).default_package(name)
    }

    /// The package of the interface crate.
    pub fn interface_package(&self) -> String {
        format!("{}-{INTERFACE}", self.name)
    }

    /// The interface trait's name for compartment `name`: its module identifier in
    /// CamelCase (`my-store` → `MyStore`, `9` → `C9`).
    pub fn trait_ident(name: &str) -> String {
        Self::module_ident(name)
            .split('_')
            .filter(|w| !w.is_empty())
            .map(|w| {
                let mut chars = w.chars();
                chars.next().map_or_else(String::new, |first| {
                    first.to_ascii_uppercase().to_string() + chars.as_str()
                })
            })
            .collect()
    }

    /// A Rust identifier for the interface's module of compartment `name` (`-` becomes `_`;
    /// a keyword or leading digit gets a `c_` prefix).
    pub fn module_ident(name: &str) -> String {
        let ident = name.replace('-', "_");
        if KEYWORDS.contains(&ident.as_str()) || ident.starts_with(|c: char| c.is_ascii_digit()) {
            format!("c_{ident}")
        } else {
            ident
        }
    }

    /// Every file to write, relative to `examples/APP/`, with its text.
    pub fn files(&self) -> Vec<(PathBuf, String)> {
        let interface = PathBuf::from(INTERFACE);
        let mut files = vec![
            (
                PathBuf::from(crate::declaration::FILE_NAME),
                templates::tessera_toml(self),
            ),
            (
                interface.join("Cargo.toml"),
                templates::interface_cargo_toml(self),
            ),
            (interface.join("src/lib.rs"), templates::interface_lib(self)),
        ];
        for c in &self.compartments {
            let dir = PathBuf::from(c);
            files.push((dir.join("Cargo.toml"), templates::cargo_toml(self, c)));
            let main = if c == self.caller() {
                templates::caller_main(self)
            } else if c == self.callee() {
                files.push((dir.join("src/lib.rs"), templates::callee_lib(self)));
                templates::callee_main(self)
            } else {
                templates::other_main(self, c)
            };
            files.push((dir.join("src/main.rs"), main));
        }
        files
    }

    /// The workspace `members` entries of its crates: the interface, then each
    /// compartment.
    pub fn members(&self) -> Vec<String> {
        std::iter::once(INTERFACE)
            .chain(self.compartments.iter().map(String::as_str))
            .map(|c| format!("examples/{}/{c}", self.name))
            .collect()
    }
}

/// Rust's strict and reserved keywords (2024 edition) that a compartment name can spell.
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true", "type", "unsafe",
    "use", "where", "while", "abstract", "become", "box", "do", "final", "macro", "override",
    "priv", "typeof", "unsized", "virtual", "yield", "try",
];

/// 1 to 32 characters from `a-z 0-9 _ -` (docs/manifest.md's NAME).
fn check_word(word: &str) -> Result<()> {
    if word.is_empty() {
        bail!("empty");
    }
    if word.len() > MAX_NAME_LEN {
        bail!("longer than {MAX_NAME_LEN} characters");
    }
    if let Some(bad) = word
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-'))
    {
        bail!("has {bad:?}; names use only a-z 0-9 _ -");
    }
    Ok(())
}

/// `cargo xtask new`: generates the app into the workspace at `root`; returns the
/// directory it made.
pub fn generate(root: &Path, args: &NewArgs) -> Result<PathBuf> {
    let app = App::new(&args.app, &args.compartments)?;
    let dir = root.join("examples").join(&app.name);
    if dir.exists() {
        bail!(
            "{} exists: pick another name (nothing was written)",
            dir.display()
        );
    }
    let cargo_path = root.join("Cargo.toml");
    let cargo_text = fs::read_to_string(&cargo_path)
        .with_context(|| format!("reading {}", cargo_path.display()))?;
    let existing = workspace::members(&cargo_text)?;
    let packages = workspace::package_names(root, &existing);
    for c in &app.compartments {
        let package = app.package(c);
        if packages.contains(&package) {
            bail!("compartment name \"{c}\": package {package} exists in the workspace");
        }
    }
    if packages.contains(&app.interface_package()) {
        bail!(
            "app name \"{}\": package {} exists in the workspace",
            app.name,
            app.interface_package()
        );
    }
    let new_cargo_text = workspace::add_members(&cargo_text, &app.members())?;
    let files = app.files();
    // The declaration as `cargo xtask run` will read it, checked before anything is written.
    let (_, toml_text) = &files[0];
    Declaration::parse("tessera.toml", Kind::Example(app.name.clone()), toml_text)
        .map_err(|e| anyhow::anyhow!("generated a declaration xtask refuses: {e}"))?;
    for (path, text) in &files {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    fs::write(&cargo_path, new_cargo_text)
        .with_context(|| format!("writing {}", cargo_path.display()))?;
    Ok(dir)
}

/// `cargo xtask new` in this workspace, with what to do next.
pub fn command(args: &NewArgs) -> Result<()> {
    let root = crate::paths::workspace_root();
    let dir = generate(&root, args)?;
    let shown = dir
        .strip_prefix(&root)
        .unwrap_or(&dir)
        .display()
        .to_string();
    eprintln!("created {shown}/ and added its crates to the workspace members");
    eprintln!("boot it:       cargo xtask run --example {}", args.app);
    eprintln!("test it:       cargo xtask test   (its host tests run with the others)");
    eprintln!("declared in:   {shown}/tessera.toml (docs/manifest.md)");
    Ok(())
}
