//! `examples/`: one subdirectory per user-facing example, each a compartment package
//! whose directory name is its package and binary name. `--example NAME` builds it and
//! boots it as the multiboot module `NAME`.

use crate::image::Module;
use crate::kernel;
use anyhow::{Result, bail};
use std::fs;
use std::path::{Path, PathBuf};

/// The examples in `dir` (its subdirectories), sorted.
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

/// The directory of example `name`, or an error listing the ones that exist.
pub fn find(dir: &Path, name: &str) -> Result<PathBuf> {
    let names = available(dir);
    if names.iter().any(|n| n == name) {
        return Ok(dir.join(name));
    }
    let list = if names.is_empty() {
        "none yet".to_owned()
    } else {
        names.join(", ")
    };
    bail!("no example named {name} (available: {list})")
}

/// Builds example `name` (found in `dir`) for x86_64-unknown-none: the module to boot.
pub fn build(dir: &Path, name: &str) -> Result<Module> {
    find(dir, name)?;
    eprintln!("building example {name}…");
    Ok(Module::new(kernel::build_bare_metal(name, name)?, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_subdirectories_and_names_them_in_errors() {
        let dir = std::env::temp_dir().join(format!("xtask-examples-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let err = find(&dir, "vault").unwrap_err().to_string();
        assert_eq!(err, "no example named vault (available: none yet)");
        for name in ["vault", "bench", ".hidden"] {
            fs::create_dir(dir.join(name)).unwrap();
        }
        fs::write(dir.join("README.md"), "not an example").unwrap();
        assert_eq!(available(&dir), ["bench", "vault"]);
        assert_eq!(find(&dir, "vault").unwrap(), dir.join("vault"));
        let err = find(&dir, "README.md").unwrap_err().to_string();
        assert_eq!(err, "no example named README.md (available: bench, vault)");
        fs::remove_dir_all(&dir).unwrap();
    }
}
