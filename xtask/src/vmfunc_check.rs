//! The build-time image check: every compartment image xtask builds is validated and
//! laid out as the kernel's loader lays it out (`tessera_core::image::load`, which runs
//! the kernel's own validator) and judged by the kernel's rogue-`VMFUNC` check
//! (`tessera_core::image::scan_loaded`, DESIGN §6 property 2), so an image the hypervisor
//! would reject fails the build instead, with the file and the kernel's own message: for
//! `problem=vmfunc-bytes` also the function (from the ELF symbol table) and the offset,
//! for `problem=abi-version` both ABI versions. rustc can put the bytes `0F 01 D4` into
//! code that has no `vmfunc` in its source (an immediate such as `cmp ecx, 0xd4010f`),
//! so this is the place a developer learns about it.
//!
//! No allow-list of sites. Two kinds of image may be refused: the conformance fixture
//! ([`FIXTURE_PACKAGES`], which executes `VMFUNC` from its own code and runs only with
//! the kernel built with the fixture, with the kernel argument
//! `conformance=1`) for its `VMFUNC` bytes, and a compartment that
//! every declaration using it expects to be rejected (`expect = "reject"`, or
//! `"reject:WORD"` with the word of the problem found).

use crate::declaration::{Declaration, Expect};
use crate::symbols::Symbols;
use anyhow::{Context, Result, bail};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;
use tessera_core::image::{self, ImageLimits, ImageProblem, MAX_IMAGE_SPAN};
use tessera_core::layout::REGIONS_BASE;
use tessera_core::scan::Scanner;

/// The conformance fixture's packages (`tessera_engine::fixture::COMPARTMENTS`, in
/// hypervisor/engine/src/fixture/mod.rs): they execute `VMFUNC` by design.
pub const FIXTURE_PACKAGES: &[&str] = &["conformance", "bench-vmfunc"];

/// Which refusal of the kernel's validator an image may get at build time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Allowance {
    /// A compartment: the build fails on any problem.
    Forbidden,
    /// The conformance fixture: it may hold `VMFUNC` bytes, nothing else.
    Fixture,
    /// Every declaration that uses it expects it to be rejected: with the problem of
    /// this word, or (`None`) with any.
    ExpectedReject(Option<String>),
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
/// compartment of `d` built from it expects `reject` or `reject:WORD` (the same word for
/// all that name one).
pub fn allowance_in(d: &Declaration, package: &str) -> Allowance {
    let mut words = BTreeSet::new();
    let mut users = 0;
    for c in d.compartments.iter().filter(|c| d.package_of(c) == package) {
        users += 1;
        match Declaration::expected(c) {
            Expect::Reject(None) => {}
            Expect::Reject(Some(problem)) => {
                words.insert(problem);
            }
            _ => return allowance(package),
        }
    }
    match (allowance(package), users, words.len()) {
        (Allowance::Forbidden, 1.., 0) => Allowance::ExpectedReject(None),
        (Allowance::Forbidden, 1.., 1) => Allowance::ExpectedReject(words.pop_first()),
        (other, ..) => other,
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
/// The validator or the scan refuses the image and `allowance` does not allow that
/// refusal; the file cannot be read.
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
    let allowed = match &allowance {
        Allowance::Fixture => matches!(problem, ImageProblem::VmfuncBytes { .. }),
        Allowance::ExpectedReject(None) => true,
        Allowance::ExpectedReject(Some(word)) => word == problem.word(),
        Allowance::Forbidden => false,
    };
    if allowed {
        eprintln!("note: {package} ({allowance:?}, allowed): {report}");
        return Ok(());
    }
    bail!("{report}\n{}", advice(package, &problem, &allowance))
}

/// What to do about a refused image, after the kernel's message.
fn advice(package: &str, problem: &ImageProblem, allowance: &Allowance) -> String {
    if let Allowance::ExpectedReject(Some(word)) = allowance {
        return format!(
            "every declaration using {package} expects `reject:{word}`, but the hypervisor \
             would refuse it with problem={} instead",
            problem.word()
        );
    }
    match problem {
        ImageProblem::VmfuncBytes { .. } => format!(
            "{package} is a compartment: only a view's own gate slot may hold the \
             VMFUNC bytes 0F 01 D4 (DESIGN §6 property 2). Switch views through the SDK's \
             gate calls; if the bytes are part of a constant rustc placed in an immediate \
             (e.g. cmp ecx, 0xd4010f), build the value at run time (see \
             compartments/attack-write-gate)"
        ),
        ImageProblem::AbiVersion { .. } => format!(
            "{package} was not built against this tree's ABI (tessera_abi::ABI_VERSION = {}): \
             build it with this workspace's tessera-sdk and its plain `entry!(main)` \
             (docs/images.md)",
            tessera_abi::ABI_VERSION
        ),
        _ => format!("{package}: the hypervisor refuses this image at load (docs/images.md)"),
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
        assert_eq!(problem, ImageProblem::VmfuncBytes { offset: 0x277e });
        assert_eq!(sites.len(), 1);
        let (function, within) = sites[0].function.clone().expect("a function");
        // `main` was inlined into the closure the SDK's entry calls
        // (`core::ops::function::FnOnce::call_once` at 0x2720).
        assert_eq!(function, "core::ops::function::FnOnce::call_once");
        assert_eq!(within, 0x277e - 0x2720);
        let err = format!(
            "{:#}",
            check("attack-write-gate", &path, Allowance::Forbidden).unwrap_err()
        );
        for part in [
            "attack-write-gate.elf",
            "problem=vmfunc-bytes",
            "offset 0x277e",
            "`core::ops::function::FnOnce::call_once` at +0x5e",
        ] {
            assert!(err.contains(part), "{part} missing in: {err}");
        }
        // Allowed for the fixture and for images expected to be rejected for it.
        check("conformance", &path, Allowance::Fixture).unwrap();
        check("attack-x", &path, Allowance::ExpectedReject(None)).unwrap();
        let vmfunc = Allowance::ExpectedReject(Some("vmfunc-bytes".into()));
        check("attack-x", &path, vmfunc).unwrap();
        // Not for images expected to be rejected for something else.
        let oom = Allowance::ExpectedReject(Some("out-of-memory".into()));
        let err = format!("{:#}", check("attack-x", &path, oom).unwrap_err());
        assert!(
            err.contains("expects `reject:out-of-memory`, but the hypervisor would refuse it with problem=vmfunc-bytes"),
            "{err}"
        );
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
        assert_eq!(
            allowance_in(&d, "a"),
            Allowance::ExpectedReject(Some("vmfunc-bytes".into()))
        );
        // x is also compartment c, which must run.
        assert_eq!(allowance_in(&d, "x"), Allowance::Forbidden);
        // Only the problem expected is excused (`check` refuses any other).
        assert_eq!(
            allowance_in(&d, "d"),
            Allowance::ExpectedReject(Some("out-of-memory".into()))
        );
        assert_eq!(allowance_in(&d, "unused"), Allowance::Forbidden);
        let d = Declaration::parse(
            "t.toml",
            Kind::Scenario("t".into()),
            "[[compartment]]\nname = \"a\"\nexpect = \"reject\"\n\n\
             [[compartment]]\nname = \"b\"\npackage = \"a\"\nexpect = \"reject\"\n\n\
             [[compartment]]\nname = \"c\"\nexpect = \"reject:vmfunc-bytes\"\n\n\
             [[compartment]]\nname = \"d\"\npackage = \"c\"\nexpect = \"reject:abi-version\"\n\n\
             [[compartment]]\nname = \"conformance\"\nexpect = \"reject:abi-version\"\n",
        )
        .unwrap();
        assert_eq!(allowance_in(&d, "a"), Allowance::ExpectedReject(None));
        // Two different problems expected of one image: it cannot meet both.
        assert_eq!(allowance_in(&d, "c"), Allowance::Forbidden);
        // The fixture stays the fixture.
        assert_eq!(allowance_in(&d, "conformance"), Allowance::Fixture);
    }

    /// hello.elf with the version of its ABI-version note (at file offset 0x29c, see
    /// the fixtures' README) set to `version`, written where `check` can read it.
    fn stale_hello(version: u32) -> std::path::PathBuf {
        let mut bytes = std::fs::read(fixture("hello.elf")).unwrap();
        assert_eq!(bytes[0x29c..0x2a0], tessera_abi::ABI_VERSION.to_le_bytes());
        bytes[0x29c..0x2a0].copy_from_slice(&version.to_le_bytes());
        let dir = std::env::temp_dir().join(format!("xtask-abi-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("stale-{version}.elf"));
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn an_image_built_against_another_abi_fails_the_build_naming_file_and_both_versions() {
        let ours = tessera_abi::ABI_VERSION;
        let path = stale_hello(ours - 1);
        let err = format!(
            "{:#}",
            check("stale", &path, Allowance::Forbidden).unwrap_err()
        );
        for part in [
            format!("{}: the hypervisor would reject this image", path.display()),
            format!(
                "built against ABI {}, this hypervisor speaks ABI {ours}",
                ours - 1
            ),
            "(problem=abi-version)".into(),
            format!(
                "stale was not built against this tree's ABI (tessera_abi::ABI_VERSION = {ours})"
            ),
        ] {
            assert!(err.contains(&part), "{part} missing in: {err}");
        }
        // The fixture may hold VMFUNC bytes, not another ABI.
        assert!(check("conformance", &path, Allowance::Fixture).is_err());
        // Allowed where every declaration expects exactly this rejection.
        let abi = Allowance::ExpectedReject(Some("abi-version".into()));
        check("stale", &path, abi).unwrap();
        let vmfunc = Allowance::ExpectedReject(Some("vmfunc-bytes".into()));
        assert!(check("stale", &path, vmfunc).is_err());
        std::fs::remove_file(&path).unwrap();
    }
}
