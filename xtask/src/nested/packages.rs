//! The Debian packages the guest is made of: the distribution's current kernel image
//! (unsigned: the signed one differs only by its signature) and busybox-static, fetched
//! with `apt-get download`, and the installed QEMU whose version keys the cache.
//!
//! Every failure here is the stage "package" and says which command failed.

use super::stage::{Stage, StageError};
use crate::tools;
use anyhow::{Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The metapackage that names the current kernel ABI (`linux-image-6.1.0-N-amd64`).
pub const KERNEL_META: &str = "linux-image-amd64";
pub const BUSYBOX: &str = "busybox-static";
/// Installed packages whose files go into the guest (QEMU, its firmware).
pub const INSTALLED: [&str; 4] = ["qemu-system-x86", "qemu-system-data", "seabios", "libc6"];

/// A package at a version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    pub version: String,
}

fn package_err(what: impl Into<String>) -> anyhow::Error {
    StageError::new(Stage::Package, what).into()
}

/// The unsigned kernel image package the metapackage points at, from `apt-cache depends`
/// output: `linux-image-amd64\n  Depends: linux-image-6.1.0-57-amd64\n`.
pub fn kernel_package_from_depends(text: &str) -> Option<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("Depends:"))
        .map(str::trim)
        .find(|p| p.starts_with("linux-image-") && !p.ends_with("-unsigned"))
        .map(|p| format!("{p}-unsigned"))
}

/// The candidate version in `apt-cache policy` output.
pub fn candidate_from_policy(text: &str) -> Option<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("Candidate:"))
        .map(str::trim)
        .find(|v| !v.is_empty() && *v != "(none)")
        .map(str::to_owned)
}

fn output(program: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("running {program}"))?;
    if !out.status.success() {
        return Err(package_err(format!(
            "`{program} {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs `apt-get update` once if the package lists do not know the kernel metapackage
/// (a fresh machine), as root; otherwise says what to run.
fn ensure_lists() -> Result<()> {
    let known = |_: ()| {
        output("apt-cache", &["policy", KERNEL_META])
            .map(|t| candidate_from_policy(&t).is_some())
            .unwrap_or(false)
    };
    if known(()) {
        return Ok(());
    }
    if !tools::is_root() {
        return Err(package_err(format!(
            "apt knows no candidate for {KERNEL_META}: run `sudo apt-get update`"
        )));
    }
    eprintln!("nested-kvm: apt knows no {KERNEL_META}; running apt-get update");
    output("apt-get", &["update"])?;
    if !known(()) {
        return Err(package_err(format!(
            "no candidate for {KERNEL_META} even after apt-get update (is this Debian 12?)"
        )));
    }
    Ok(())
}

/// The packages to download: the current unsigned kernel image and busybox-static, each
/// at its candidate version.
pub fn resolve() -> Result<Vec<Package>> {
    ensure_lists()?;
    let depends = output("apt-cache", &["depends", KERNEL_META])?;
    let kernel = kernel_package_from_depends(&depends).ok_or_else(|| {
        package_err(format!(
            "`apt-cache depends {KERNEL_META}` names no kernel image:\n{depends}"
        ))
    })?;
    [kernel.as_str(), BUSYBOX]
        .iter()
        .map(|name| {
            let policy = output("apt-cache", &["policy", name])?;
            let version = candidate_from_policy(&policy)
                .ok_or_else(|| package_err(format!("apt has no candidate for {name}")))?;
            Ok(Package {
                name: (*name).to_owned(),
                version,
            })
        })
        .collect()
}

/// The installed version of `name` (`dpkg-query`).
pub fn installed(name: &str) -> Result<Package> {
    let version = output("dpkg-query", &["-W", "-f=${Version}", name])
        .map_err(|_| package_err(format!("{name} is not installed (apt-get install {name})")))?;
    Ok(Package {
        name: name.to_owned(),
        version: version.trim().to_owned(),
    })
}

/// `apt-get download NAME=VERSION` into `dir` (once), then `dpkg-deb -x` into
/// `dir/NAME-VERSION/`; returns that directory.
pub fn fetch(package: &Package, dir: &Path) -> Result<PathBuf> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let tree = dir.join(format!(
        "{}-{}",
        package.name,
        package.version.replace(':', "_")
    ));
    if tree.join(".complete").is_file() {
        return Ok(tree);
    }
    let prefix = format!("{}_", package.name);
    let find = || -> Option<PathBuf> {
        fs::read_dir(dir)
            .ok()?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .find(|p| {
                p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    n.starts_with(&prefix)
                        && n.ends_with(".deb")
                        && n.contains(&deb_version(&package.version))
                })
            })
    };
    if find().is_none() {
        eprintln!(
            "nested-kvm: apt-get download {}={}",
            package.name, package.version
        );
        let spec = format!("{}={}", package.name, package.version);
        let out = Command::new("apt-get")
            .args(["download", &spec])
            .current_dir(dir)
            .output()
            .context("running apt-get download")?;
        if !out.status.success() {
            return Err(package_err(format!(
                "`apt-get download {spec}` failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
    }
    let deb = find().ok_or_else(|| {
        package_err(format!(
            "apt-get download left no {prefix}*.deb in {}",
            dir.display()
        ))
    })?;
    let _ = fs::remove_dir_all(&tree);
    let tree_text = tree.to_string_lossy().into_owned();
    output("dpkg-deb", &["-x", &deb.to_string_lossy(), &tree_text])?;
    fs::write(tree.join(".complete"), "")?;
    Ok(tree)
}

/// How a version appears in a .deb file name (`1:1.35` → `1%3a1.35`).
pub fn deb_version(version: &str) -> String {
    version.replace(':', "%3a")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_kernel_package_and_candidates() {
        let depends = "linux-image-amd64\n  Depends: linux-image-6.1.0-57-amd64\n";
        assert_eq!(
            kernel_package_from_depends(depends).as_deref(),
            Some("linux-image-6.1.0-57-amd64-unsigned")
        );
        assert_eq!(kernel_package_from_depends("linux-image-amd64\n"), None);
        let policy = "busybox-static:\n  Installed: (none)\n  Candidate: 1:1.35.0-4+deb12u1+b1\n";
        assert_eq!(
            candidate_from_policy(policy).as_deref(),
            Some("1:1.35.0-4+deb12u1+b1")
        );
        assert_eq!(candidate_from_policy("x:\n  Candidate: (none)\n"), None);
        assert_eq!(deb_version("1:1.35.0-4"), "1%3a1.35.0-4");
    }
}
