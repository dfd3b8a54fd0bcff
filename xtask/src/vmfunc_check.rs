//! The build-time rogue-`VMFUNC` check (DESIGN §6 property 2): every compartment image
//! xtask builds is laid out as the kernel's loader lays it out
//! (`tessera_core::image::load`) and judged by the kernel's own check
//! (`tessera_core::image::scan_loaded`), so an image the hypervisor would reject with
//! `problem=vmfunc-bytes` fails the build instead, with the file, the function (from the
//! ELF symbol table) and the offset. rustc can put the bytes `0F 01 D4` into code that
//! has no `vmfunc` in its source (an immediate such as `cmp ecx, 0xd4010f`), so this is
//! the place a developer learns about it.
//!
//! No allow-list of sites. Two kinds of image may hold the bytes: the conformance
//! fixture ([`FIXTURE_PACKAGES`], which executes `VMFUNC` from its own code and runs only
//! with the kernel argument `conformance=1`), and a compartment that every declaration
//! using it expects to be rejected (`expect = "reject"` or `"reject:vmfunc-bytes"`).

use crate::declaration::{Declaration, Expect};
use crate::symbols::Symbols;
use anyhow::{Context, Result, bail};
use std::fmt::Write as _;
use std::path::Path;
use tessera_core::image::{self, ImageLimits, ImageProblem, MAX_IMAGE_SPAN};
use tessera_core::layout::REGIONS_BASE;
use tessera_core::scan::Scanner;

/// The conformance fixture's packages (hypervisor/kernel/src/conformance.rs
/// `FIXTURE_COMPARTMENTS`): they execute `VMFUNC` by design.
pub const FIXTURE_PACKAGES: &[&str] = &["conformance", "bench-vmfunc"];

/// Whether an image may hold `VMFUNC` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Allowance {
    /// A compartment: the build fails if it does.
    Forbidden,
    /// The conformance fixture.
    Fixture,
    /// Every declaration that uses it expects it to be rejected.
    ExpectedReject,
}

/// The allowance of `package` when built on its own.
pub fn allowance(package: &str) -> Allowance {
    if FIXTURE_PACKAGES.contains(&package) {
        Allowance::Fixture
    } else {
        Allowance::Forbidden
    }
}

/// The allowance of `package` in declaration `d`: expected-reject only if every
/// compartment of `d` built from it expects `reject` or `reject:vmfunc-bytes`.
pub fn allowance_in(d: &Declaration, package: &str) -> Allowance {
    let mut users = d
        .compartments
        .iter()
        .filter(|c| d.package_of(c) == package)
        .peekable();
    let rejected = users.peek().is_some()
        && users.all(|c| match Declaration::expected(c) {
            Expect::Reject(None) => true,
            Expect::Reject(Some(problem)) => problem == "vmfunc-bytes",
            _ => false,
        });
    match allowance(package) {
        Allowance::Forbidden if rejected => Allowance::ExpectedReject,
        other => other,
    }
}

/// One place the bytes occur: offset from the image base, and the function holding it
/// with the offset inside the function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    pub offset: u64,
    pub function: Option<(String, u64)>,
}

/// What the kernel's check says about `bytes`: `Ok(())` when it would load the image,
/// else the problem and every site of the bytes in its executable memory.
pub fn scan(bytes: &[u8]) -> Result<(), (ImageProblem, Vec<Site>)> {
    // The validator wants the bytes 8-byte aligned, as a multiboot module is.
    let mut storage = vec![0u8; bytes.len() + 8];
    let start = (8 - storage.as_ptr().addr() % 8) % 8;
    storage[start..start + bytes.len()].copy_from_slice(bytes);
    let aligned = &storage[start..start + bytes.len()];
    let limits = ImageLimits {
        max_span: MAX_IMAGE_SPAN,
    };
    let loaded = image::load("image", aligned, &limits, REGIONS_BASE)
        .map_err(|e| (e.problem, Vec::new()))?;
    let Err(problem) = image::scan_loaded(&loaded.plan, &loaded.memory) else {
        return Ok(());
    };
    let mut sites = Vec::new();
    let mut scanner = Scanner::new();
    for segment in loaded.plan.segments.iter().filter(|s| s.perms.execute) {
        let range = segment.offset as usize..(segment.offset + segment.len) as usize;
        scanner.feed(segment.offset, &loaded.memory[range], |offset| {
            sites.push(Site {
                offset,
                function: None,
            });
        });
    }
    if let Ok(symbols) = Symbols::parse(bytes) {
        for site in &mut sites {
            site.function = symbols.at(site.offset).map(|at| (at.function, at.within));
        }
    }
    Err((problem, sites))
}

/// Checks the image of `package` at `path` after a build.
///
/// # Errors
/// The image holds the bytes (or the validator refuses it) and `allowance` is
/// [`Allowance::Forbidden`]; the file cannot be read.
pub fn check(package: &str, path: &Path, allowance: Allowance) -> Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let Err((problem, sites)) = scan(&bytes) else {
        return Ok(());
    };
    let mut report = format!(
        "{}: the hypervisor would reject this image: {problem} (problem={})",
        path.display(),
        problem.word()
    );
    for site in sites.iter().take(8) {
        let _ = match &site.function {
            Some((name, within)) => write!(
                report,
                "\n  offset {:#x}: in function `{name}` at +{within:#x} (code inlined into it \
                 counts as its own)",
                site.offset
            ),
            None => write!(
                report,
                "\n  offset {:#x}: in no known function",
                site.offset
            ),
        };
    }
    if sites.len() > 8 {
        let _ = write!(report, "\n  ... {} sites in all", sites.len());
    }
    match allowance {
        Allowance::Fixture | Allowance::ExpectedReject => {
            eprintln!("note: {package} ({allowance:?}, allowed): {report}");
            Ok(())
        }
        Allowance::Forbidden => bail!(
            "{report}\n{package} is a compartment: only a view's own gate slot may hold the \
             VMFUNC bytes 0F 01 D4 (DESIGN §6 property 2). Switch views through the SDK's \
             gate calls; if the bytes are part of a constant rustc placed in an immediate \
             (e.g. cmp ecx, 0xd4010f), build the value at run time (see \
             compartments/attack-write-gate)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::declaration::Kind;

    fn fixture(name: &str) -> std::path::PathBuf {
        crate::paths::workspace_root()
            .join("hypervisor/core/tests/fixtures/elf")
            .join(name)
    }

    #[test]
    fn a_clean_image_passes() {
        check("hello", &fixture("hello.elf"), Allowance::Forbidden).expect("hello is clean");
    }

    #[test]
    fn vmfunc_in_an_immediate_fails_the_build_naming_file_function_and_offset() {
        let path = fixture("attack-write-gate.elf");
        let bytes = std::fs::read(&path).unwrap();
        let Err((problem, sites)) = scan(&bytes) else {
            panic!("attack-write-gate.elf (before its fix) holds 0F 01 D4");
        };
        assert_eq!(problem, ImageProblem::VmfuncBytes { offset: 0x2714 });
        assert_eq!(sites.len(), 1);
        let (function, within) = sites[0].function.clone().expect("a function");
        // `main` was inlined into the SDK's entry (`tessera_sdk::rt::start` at 0x26b0).
        assert_eq!(function, "tessera_sdk::rt::start");
        assert_eq!(within, 0x2714 - 0x26b0);
        let err = format!(
            "{:#}",
            check("attack-write-gate", &path, Allowance::Forbidden).unwrap_err()
        );
        for part in [
            "attack-write-gate.elf",
            "problem=vmfunc-bytes",
            "offset 0x2714",
            "`tessera_sdk::rt::start` at +0x64",
        ] {
            assert!(err.contains(part), "{part} missing in: {err}");
        }
        // Allowed for the fixture and for images expected to be rejected.
        check("conformance", &path, Allowance::Fixture).unwrap();
        check("attack-x", &path, Allowance::ExpectedReject).unwrap();
    }

    #[test]
    fn only_fixtures_and_compartments_every_user_expects_rejected_are_allowed() {
        assert_eq!(allowance("conformance"), Allowance::Fixture);
        assert_eq!(allowance("bench-vmfunc"), Allowance::Fixture);
        assert_eq!(allowance("attack-vmfunc-victim"), Allowance::Forbidden);
        let d = Declaration::parse(
            "t.toml",
            Kind::Scenario("t".into()),
            "[[compartment]]\nname = \"a\"\nexpect = \"reject:vmfunc-bytes\"\n\n\
             [[compartment]]\nname = \"b\"\npackage = \"x\"\nexpect = \"reject\"\n\n\
             [[compartment]]\nname = \"c\"\npackage = \"x\"\n\n\
             [[compartment]]\nname = \"d\"\nexpect = \"reject:out-of-memory\"\n",
        )
        .unwrap();
        assert_eq!(allowance_in(&d, "a"), Allowance::ExpectedReject);
        // x is also compartment c, which must run.
        assert_eq!(allowance_in(&d, "x"), Allowance::Forbidden);
        // A different expected problem does not excuse VMFUNC bytes.
        assert_eq!(allowance_in(&d, "d"), Allowance::Forbidden);
        assert_eq!(allowance_in(&d, "unused"), Allowance::Forbidden);
    }
}
