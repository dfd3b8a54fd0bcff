//! The guest image — the multiboot ELF of Debian's kernel behind the PVH stub, and the
//! initramfs — built once and cached, keyed on everything it is made of: the versions of
//! the packages it takes files from, the list of QEMU's libraries (paths and sizes), the
//! sources of the stub and `/init`, and this builder's version and layout constants.
//! Tessera's own files are never part of it.

use super::packages::{self, Package};
use super::stage::{Stage, StageError};
use super::{bootimage, rootfs, stub, vmlinux};
use crate::paths;
use anyhow::{Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Bump when the way the image is built changes in a way the other key inputs miss.
pub const BUILDER_VERSION: u32 = 1;

/// A built guest image in the cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestImage {
    pub dir: PathBuf,
    /// The ELF32 GRUB loads with `multiboot`.
    pub boot_elf: PathBuf,
    /// The first module: the guest's own cpio archive.
    pub initramfs: PathBuf,
    /// The packages and versions, one per line (also `dir/versions.txt`).
    pub versions: String,
}

/// Where downloaded packages and built images are kept: `$TESSERA_CACHE`, else
/// `$XDG_CACHE_HOME/tessera`, else `~/.cache/tessera`, then `nested-kvm/`.
pub fn cache_root() -> PathBuf {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let base = env("TESSERA_CACHE")
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("tessera")))
        .or_else(|| env("HOME").map(|d| d.join(".cache/tessera")))
        .unwrap_or_else(|| paths::tessera_dir().join("cache"));
    base.join("nested-kvm")
}

/// FNV-1a, 64 bits: a stable hash for cache keys (not for security).
pub fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in *part {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        h = (h ^ 0xff).wrapping_mul(0x0000_0100_0000_01b3); // part separator
    }
    h
}

/// The cache key: a readable kernel name and a hash of every input.
pub fn cache_key(packages: &[Package], libraries: &[(String, u64)]) -> (String, String) {
    let mut versions = String::new();
    for p in packages {
        versions.push_str(&format!("{} {}\n", p.name, p.version));
    }
    let mut libs = String::new();
    for (path, size) in libraries {
        libs.push_str(&format!("{path} {size}\n"));
    }
    let layout = format!(
        "{BUILDER_VERSION} {:?} {}",
        stub::symbols(),
        bootimage::MIN_ZERO_PAGES
    );
    let hash = fnv1a(&[
        versions.as_bytes(),
        libs.as_bytes(),
        stub::SOURCE.as_bytes(),
        rootfs::INIT.as_bytes(),
        layout.as_bytes(),
    ]);
    let kernel = packages.first().map_or("guest", |p| p.name.as_str());
    (format!("{kernel}-{hash:016x}"), versions)
}

/// The guest image, from the cache or built now.
pub fn ensure() -> Result<GuestImage> {
    let mut packages = packages::resolve()?;
    for name in packages::INSTALLED {
        packages.push(packages::installed(name)?);
    }
    let libraries = rootfs::qemu_libraries()?;
    let sized: Vec<(String, u64)> = libraries
        .iter()
        .map(|l| (l.clone(), fs::metadata(l).map_or(0, |m| m.len())))
        .collect();
    let (key, versions) = cache_key(&packages, &sized);
    let dir = cache_root().join(&key);
    let image = GuestImage {
        boot_elf: dir.join("linux.elf"),
        initramfs: dir.join("initramfs.cpio"),
        dir: dir.clone(),
        versions,
    };
    if dir.join("versions.txt").is_file() {
        eprintln!("nested-kvm: guest image {} (cached)", dir.display());
        return Ok(image);
    }
    let started = Instant::now();
    eprintln!("nested-kvm: building the guest image {key}…");
    let debs = cache_root().join("debs");
    let kernel_tree = packages::fetch(&packages[0], &debs)?;
    let busybox_tree = packages::fetch(&packages[1], &debs)?;
    let partial = cache_root().join(format!("{key}.partial-{}", std::process::id()));
    let _ = fs::remove_dir_all(&partial);
    fs::create_dir_all(&partial).with_context(|| format!("creating {}", partial.display()))?;
    build_into(&partial, &kernel_tree, &busybox_tree, &libraries)
        .map_err(|e| stage_image(e, "building the guest image"))?;
    fs::write(partial.join("versions.txt"), &image.versions)?;
    let _ = fs::remove_dir_all(&dir);
    fs::rename(&partial, &dir).with_context(|| format!("storing {}", dir.display()))?;
    eprintln!(
        "nested-kvm: guest image built in {:.1} s: {}",
        started.elapsed().as_secs_f64(),
        dir.display()
    );
    Ok(image)
}

/// Keeps an error that already names its stage; otherwise names "image build".
fn stage_image(e: anyhow::Error, what: &str) -> anyhow::Error {
    if e.downcast_ref::<StageError>().is_some() {
        return e;
    }
    StageError::new(Stage::ImageBuild, format!("{what}: {e:#}")).into()
}

fn build_into(
    dir: &Path,
    kernel_tree: &Path,
    busybox_tree: &Path,
    libraries: &[String],
) -> Result<()> {
    let vmlinuz = fs::read_dir(kernel_tree.join("boot"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("vmlinuz-"))
        })
        .context("the kernel package has no boot/vmlinuz-*")?;
    let bz = fs::read(&vmlinuz).with_context(|| format!("reading {}", vmlinuz.display()))?;
    let vmlinux = vmlinux::unxz(vmlinux::payload(&bz)?)?;
    let entry = vmlinux::pvh_entry(&vmlinux)?;
    let mut pieces = Vec::new();
    for segment in vmlinux::segments(&vmlinux)? {
        pieces.extend(bootimage::pieces(&vmlinux, &segment));
    }
    let stub_bytes = stub::patched(&stub::assemble(&dir.join("stub"))?, entry);
    let elf = bootimage::write(&stub_bytes, &vmlinux, &pieces)?;
    fs::write(dir.join("linux.elf"), &elf)?;
    let cpio = rootfs::build(&busybox_tree.join("bin/busybox"), kernel_tree, libraries)?;
    fs::write(dir.join("initramfs.cpio"), &cpio)?;
    eprintln!(
        "nested-kvm: vmlinux {} MB → boot image {} MB ({} segments, PVH entry {entry:#x}); initramfs {} MB",
        vmlinux.len() >> 20,
        elf.len() >> 20,
        pieces.len() + 1,
        cpio.len() >> 20
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_changes_with_any_input() {
        let p = |v: &str| {
            vec![Package {
                name: "linux-image-x-unsigned".into(),
                version: v.into(),
            }]
        };
        let libs = vec![("/lib/libz.so.1".to_owned(), 100)];
        let (a, versions) = cache_key(&p("1"), &libs);
        assert!(a.starts_with("linux-image-x-unsigned-"), "{a}");
        assert_eq!(versions, "linux-image-x-unsigned 1\n");
        assert_eq!(cache_key(&p("1"), &libs).0, a);
        assert_ne!(cache_key(&p("2"), &libs).0, a);
        assert_ne!(
            cache_key(&p("1"), &[("/lib/libz.so.1".to_owned(), 101)]).0,
            a
        );
        assert_ne!(fnv1a(&[b"ab", b"c"]), fnv1a(&[b"a", b"bc"]));
    }
}
