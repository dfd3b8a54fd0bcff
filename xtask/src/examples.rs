//! What `--example NAME` and `--scenario NAME` boot.
//!
//! - `examples/NAME/` without a `tessera.toml` is a single compartment crate whose
//!   directory name is its package and binary name (like `examples/hello`); it boots as
//!   the multiboot module `NAME`, without a manifest.
//! - `examples/NAME/tessera.toml`, `compartments/scenarios/NAME/tessera.toml` and
//!   `compartments/smp/NAME/tessera.toml` (`--scenario smp/NAME`) are declarations
//!   ([`crate::declaration`], which also states how packages are named): all their
//!   packages are built in one cargo invocation, the manifest is written to
//!   `target/tessera/manifests/{example,scenario,scenario-smp}-NAME.manifest`, and the
//!   boot gets one
//!   module per compartment (named like the compartment, with its `expect=`) and the
//!   manifest as the module named `manifest`.

use crate::declaration::{self, Declaration, Kind};
use crate::image::Module;
use crate::{kernel, paths, vmfunc_check};
use anyhow::{Context, Result, bail};
use std::fs;
use std::path::{Path, PathBuf};

/// The subdirectories of `dir` (examples or scenarios), sorted.
pub fn available(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|name| !name.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The directory of `what` (`example`, `scenario`) `name` in `dir`, or an error listing
/// the ones that exist.
pub fn find(dir: &Path, what: &str, name: &str) -> Result<PathBuf> {
    let names = available(dir);
    if names.iter().any(|n| n == name) {
        return Ok(dir.join(name));
    }
    let list = if names.is_empty() {
        "none yet".to_owned()
    } else {
        names.join(", ")
    };
    bail!("no {what} named {name} (available: {list})")
}

/// What to build for one `--example`/`--scenario`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// One crate, booted as module `name`, no manifest.
    Single { package: String, name: String },
    /// A `tessera.toml`.
    Declared(Declaration),
}

impl Plan {
    /// The plan for `examples/NAME` (in `dir`): a declaration if it has a `tessera.toml`.
    pub fn example(dir: &Path, name: &str) -> Result<Plan> {
        let at = find(dir, "example", name)?;
        if at.join(declaration::FILE_NAME).is_file() {
            return Ok(Plan::Declared(load(&at, Kind::Example(name.to_owned()))?));
        }
        Ok(Plan::Single {
            package: name.to_owned(),
            name: name.to_owned(),
        })
    }

    /// The plan for `compartments/scenarios/NAME` (in `dir`), which must have a
    /// `tessera.toml`.
    pub fn scenario(dir: &Path, name: &str) -> Result<Plan> {
        let at = find(dir, "scenario", name)?;
        Ok(Plan::Declared(load(&at, Kind::Scenario(name.to_owned()))?))
    }

    /// The plan for `--scenario NAME`: `compartments/scenarios/NAME`, or, for `smp/NAME`,
    /// the SMP scenario `compartments/smp/NAME` (its manifest labelled `smp-NAME`).
    pub fn named_scenario(name: &str) -> Result<Plan> {
        match name.strip_prefix("smp/") {
            Some(smp) => Plan::smp(&paths::smp_dir(), smp),
            None => Plan::scenario(&paths::scenarios_dir(), name),
        }
    }

    /// The plan for `compartments/smp/NAME` (in `dir`), which must have a `tessera.toml`.
    pub fn smp(dir: &Path, name: &str) -> Result<Plan> {
        let at = find(dir, "SMP scenario", name)?;
        Ok(Plan::Declared(load(
            &at,
            Kind::Scenario(format!("smp-{name}")),
        )?))
    }

    /// The plan for a directory given by path (`examples/vault`,
    /// `compartments/scenarios/NAME`, absolute or relative to the workspace root).
    pub fn for_dir(dir: &Path) -> Result<Plan> {
        let dir = paths::workspace_root().join(dir);
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .with_context(|| format!("{} names no directory", dir.display()))?;
        let parent = dir.parent().unwrap_or(Path::new(""));
        if parent == paths::examples_dir() {
            Plan::example(parent, name)
        } else if parent == paths::scenarios_dir() {
            Plan::scenario(parent, name)
        } else if parent == paths::smp_dir() {
            Plan::smp(parent, name)
        } else {
            bail!(
                "{} is in none of examples/, compartments/scenarios/, compartments/smp/",
                dir.display()
            )
        }
    }

    /// The packages this plan builds.
    pub fn packages(&self) -> Vec<String> {
        match self {
            Plan::Single { package, .. } => vec![package.clone()],
            Plan::Declared(d) => d.packages(),
        }
    }

    /// Builds every package (one cargo invocation), writes the manifest, and returns the
    /// modules to boot.
    pub fn build(&self) -> Result<Vec<Module>> {
        let packages = self.packages();
        eprintln!("building {}…", packages.join(", "));
        let elves = match self {
            Plan::Single { .. } => kernel::build_packages(&packages, vmfunc_check::allowance)?,
            Plan::Declared(d) => {
                kernel::build_packages(&packages, |p| vmfunc_check::allowance_in(d, p))?
            }
        };
        let elf_of = |package: &str| -> PathBuf {
            let at = packages.iter().position(|p| p == package).unwrap_or(0);
            elves[at].clone()
        };
        match self {
            Plan::Single { package, name } => Ok(vec![Module::new(elf_of(package), name)]),
            Plan::Declared(d) => {
                crate::exports_check::check(d, elf_of)?;
                crate::imports_check::check(d, |p| crate::imports_check::read(&elf_of(p)))?;
                let manifest = write_manifest(d)?;
                let mut modules: Vec<Module> = d
                    .compartments
                    .iter()
                    .map(|c| {
                        Module::new(elf_of(&d.package_of(c)), &c.name)
                            .with_args(Declaration::module_args(c))
                    })
                    .collect();
                modules.extend(data_modules(d)?);
                modules.push(Module::new(manifest, declaration::MANIFEST_MODULE));
                Ok(modules)
            }
        }
    }
}

/// The `DATA-NAME` modules of `d`'s `[[data]]` entries, their files relative to the
/// declaration's directory.
fn data_modules(d: &Declaration) -> Result<Vec<Module>> {
    let dir = paths::workspace_root().join(&d.file);
    let dir = dir.parent().unwrap_or(Path::new("."));
    d.data
        .iter()
        .enumerate()
        .map(|(k, entry)| {
            let path = dir.join(&entry.file);
            if !path.is_file() {
                bail!("{}: data[{k}].file: no file {}", d.file, path.display());
            }
            let name = format!(
                "{}{}",
                tessera_core::manifest::data::MODULE_PREFIX,
                entry.name
            );
            Ok(Module::new(path, name))
        })
        .collect()
}

/// Loads `dir/tessera.toml`, shown relative to the workspace root in messages.
fn load(dir: &Path, kind: Kind) -> Result<Declaration> {
    let path = dir.join(declaration::FILE_NAME);
    let shown = path
        .strip_prefix(paths::workspace_root())
        .unwrap_or(&path)
        .display()
        .to_string();
    Ok(Declaration::load(&path, &shown, kind)?)
}

/// Writes the manifest of `d` to `target/tessera/manifests/LABEL.manifest`.
pub fn write_manifest(d: &Declaration) -> Result<PathBuf> {
    let dir = paths::manifests_dir();
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(format!("{}.manifest", d.kind.label()));
    // Through a temporary file, so a concurrent boot never reads half a manifest.
    let partial = dir.join(format!(
        "{}.manifest.{}.partial",
        d.kind.label(),
        std::process::id()
    ));
    fs::write(&partial, d.manifest_text())
        .with_context(|| format!("writing {}", partial.display()))?;
    fs::rename(&partial, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn lists_subdirectories_and_names_them_in_errors() {
        let dir = scratch("examples");
        let err = find(&dir, "example", "vault").unwrap_err().to_string();
        assert_eq!(err, "no example named vault (available: none yet)");
        for name in ["vault", "bench", ".hidden"] {
            fs::create_dir(dir.join(name)).unwrap();
        }
        fs::write(dir.join("README.md"), "not an example").unwrap();
        assert_eq!(available(&dir), ["bench", "vault"]);
        assert_eq!(find(&dir, "example", "vault").unwrap(), dir.join("vault"));
        let err = find(&dir, "scenario", "README.md").unwrap_err().to_string();
        assert_eq!(err, "no scenario named README.md (available: bench, vault)");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn examples_are_single_crates_or_declarations_and_scenarios_must_declare() {
        let dir = scratch("plans");
        fs::create_dir(dir.join("hello")).unwrap();
        fs::create_dir(dir.join("pair")).unwrap();
        fs::write(
            dir.join("pair/tessera.toml"),
            "[[compartment]]\nname = \"a\"\nexports = [\"f\"]\n\n\
             [[compartment]]\nname = \"b\"\ncalls = [\"a\"]\nexpect = \"fault\"\n",
        )
        .unwrap();
        let hello = Plan::example(&dir, "hello").unwrap();
        assert_eq!(
            hello,
            Plan::Single {
                package: "hello".into(),
                name: "hello".into()
            }
        );
        assert_eq!(hello.packages(), ["hello"]);
        let pair = Plan::example(&dir, "pair").unwrap();
        assert_eq!(pair.packages(), ["pair-a", "pair-b"]);
        let Plan::Declared(d) = &pair else {
            panic!("pair has a tessera.toml")
        };
        assert_eq!(d.kind, Kind::Example("pair".into()));
        let scenario = Plan::scenario(&dir, "pair").unwrap();
        assert_eq!(scenario.packages(), ["a", "b"]);
        let err = format!("{:#}", Plan::scenario(&dir, "hello").unwrap_err());
        assert!(
            err.contains("hello/tessera.toml") && err.contains("cannot be read"),
            "{err}"
        );
        fs::write(
            dir.join("pair/tessera.toml"),
            "[[compartment]]\nname = \"A\"\n",
        )
        .unwrap();
        let err = format!("{:#}", Plan::example(&dir, "pair").unwrap_err());
        assert!(
            err.contains("pair/tessera.toml: compartment[0].name"),
            "{err}"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    /// Every declaration in the tree parses, and each compartment whose package follows
    /// the naming rule has that crate where the rule says, as a workspace member.
    #[test]
    fn every_declaration_in_the_tree_is_valid_and_its_crates_exist() {
        let root = paths::workspace_root();
        let members = fs::read_to_string(root.join("Cargo.toml")).unwrap();
        let members: toml::Table = toml::from_str(&members).unwrap();
        let members: Vec<&str> = members["workspace"]["members"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m.as_str())
            .collect();
        let mut plans = Vec::new();
        for name in available(&paths::examples_dir()) {
            plans.push(Plan::example(&paths::examples_dir(), &name).unwrap());
        }
        for name in available(&paths::scenarios_dir()) {
            plans.push(Plan::scenario(&paths::scenarios_dir(), &name).unwrap());
        }
        for name in available(&paths::smp_dir()) {
            plans.push(Plan::named_scenario(&format!("smp/{name}")).unwrap());
        }
        for plan in &plans {
            let Plan::Declared(d) = plan else { continue };
            for c in d.compartments.iter().filter(|c| c.package.is_none()) {
                let dir = match &d.kind {
                    Kind::Example(ex) => format!("examples/{ex}/{}", c.name),
                    Kind::Scenario(_) => format!("compartments/{}", c.name),
                };
                let manifest = fs::read_to_string(root.join(&dir).join("Cargo.toml"))
                    .unwrap_or_else(|e| panic!("{}: {}: no {dir}/Cargo.toml: {e}", d.file, c.name));
                let manifest: toml::Table = toml::from_str(&manifest).unwrap();
                assert_eq!(
                    manifest["package"]["name"].as_str(),
                    Some(d.package_of(c).as_str()),
                    "{}: {dir}/Cargo.toml",
                    d.file
                );
                assert!(
                    members.contains(&dir.as_str()),
                    "{}: {dir} is not a workspace member",
                    d.file
                );
            }
        }
    }

    #[test]
    fn directories_resolve_by_where_they_are() {
        let err = format!("{:#}", Plan::for_dir(Path::new("xtask/src")).unwrap_err());
        assert!(err.contains("none of examples/"), "{err}");
        let hello = Plan::for_dir(Path::new("examples/hello")).unwrap();
        assert_eq!(hello.packages(), ["hello"]);
        // An SMP scenario, by path and as `--scenario smp/NAME`: the same declaration,
        // whose manifest is labelled apart from the one-CPU scenarios'.
        let by_path = Plan::for_dir(Path::new("compartments/smp/busy")).unwrap();
        let by_name = Plan::named_scenario("smp/busy").unwrap();
        assert_eq!(by_path, by_name);
        let Plan::Declared(d) = by_name else {
            panic!("smp/busy has a tessera.toml")
        };
        assert_eq!(d.kind.label(), "scenario-smp-busy");
        let err = format!("{:#}", Plan::named_scenario("smp/nope").unwrap_err());
        assert!(err.contains("no SMP scenario named nope"), "{err}");
    }
}
