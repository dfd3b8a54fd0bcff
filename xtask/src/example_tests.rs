//! The examples' host tests: every package under `examples/` with a library target
//! (like `examples/vault/vault`'s HMAC, or the callee `cargo xtask new` generates) is
//! tested on the host by `cargo xtask test` with `cargo test --lib`. Found from `cargo
//! metadata`, so a new example's tests run without being listed anywhere. Their binaries
//! are compartment images, built only for x86_64-unknown-none, and are not tested; nor is
//! a library whose target says `test = false` (an interface crate: it links the SDK,
//! whose panic handler and allocator clash with std's in a host test binary).

use crate::paths;
use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// The packages under `examples_dir` that have a library target that does not opt out of
/// tests (`test = false`), sorted, from the JSON
/// of `cargo metadata --no-deps --format-version 1`.
pub fn example_libs(metadata: &Value, examples_dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| {
            p["manifest_path"]
                .as_str()
                .is_some_and(|m| Path::new(m).starts_with(examples_dir))
        })
        .filter(|p| {
            p["targets"].as_array().into_iter().flatten().any(|t| {
                let lib = t["kind"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|k| k.as_str() == Some("lib"));
                lib && t["test"].as_bool() != Some(false)
            })
        })
        .filter_map(|p| p["name"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// The example packages of this workspace with a library target.
pub fn find() -> Result<Vec<String>> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .current_dir(paths::workspace_root())
        .output()
        .context("running cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let metadata: Value =
        serde_json::from_slice(&output.stdout).context("reading cargo metadata's JSON")?;
    Ok(example_libs(&metadata, &paths::examples_dir()))
}

/// `cargo test --lib -p A -p B ...` for `packages`, then `extra`.
pub fn cargo_args(packages: &[String], extra: &[String]) -> Vec<String> {
    let mut args = vec!["test".to_owned(), "--lib".to_owned()];
    for p in packages {
        args.push("-p".to_owned());
        args.push(p.clone());
    }
    args.extend(extra.iter().cloned());
    args
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_example_packages_with_a_library() {
        let target = |kind: &str| json!({ "kind": [kind], "name": "x" });
        let metadata = json!({ "packages": [
            { "name": "vault-vault", "manifest_path": "/ws/examples/vault/vault/Cargo.toml",
              "targets": [target("lib"), target("bin")] },
            { "name": "vault-client", "manifest_path": "/ws/examples/vault/client/Cargo.toml",
              "targets": [target("bin")] },
            { "name": "attack-kit", "manifest_path": "/ws/compartments/attack-kit/Cargo.toml",
              "targets": [target("lib")] },
            { "name": "app-back", "manifest_path": "/ws/examples/app/back/Cargo.toml",
              "targets": [target("bin"), target("lib")] },
            { "name": "app-interface", "manifest_path": "/ws/examples/app/interface/Cargo.toml",
              "targets": [{ "kind": ["lib"], "name": "x", "test": false }] },
        ]});
        let found = example_libs(&metadata, Path::new("/ws/examples"));
        assert_eq!(found, ["app-back", "vault-vault"]);
        let extra = ["--".to_owned(), "--nocapture".to_owned()];
        assert_eq!(
            cargo_args(&found, &extra),
            [
                "test",
                "--lib",
                "-p",
                "app-back",
                "-p",
                "vault-vault",
                "--",
                "--nocapture"
            ]
        );
    }
}
