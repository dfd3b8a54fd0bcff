//! The build-time export check: every export a declaration (`tessera.toml`) lists for a
//! compartment must be in the export table of the image built for it (docs/images.md),
//! or the hypervisor would reject that image at load (`problem=missing-export`). Run by
//! the same core functions the kernel runs (`tessera_core::image::validate` and
//! `check_declared`), after [`vmfunc_check`](crate::vmfunc_check) judged each image on
//! its own; the error names the file, the field, the compartment and the export.

use crate::declaration::{Declaration, Expect};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use tessera_core::image::{self, ImageLimits, ImageProblem, MAX_IMAGE_SPAN};

/// The plan core's validator makes of the image at `path`; `None` if it refuses the
/// image (which [`vmfunc_check`](crate::vmfunc_check) has reported or excused already).
fn plan(path: &Path) -> Result<Option<image::ImagePlan>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let mut storage = vec![0u8; bytes.len() + 8];
    let start = (8 - storage.as_ptr().addr() % 8) % 8;
    storage[start..start + bytes.len()].copy_from_slice(&bytes);
    let limits = ImageLimits {
        max_span: MAX_IMAGE_SPAN,
    };
    Ok(image::validate("image", &storage[start..start + bytes.len()], &limits).ok())
}

/// Checks every compartment of `d` against its image (`elf_of(package)`). A compartment
/// expected to be rejected (`expect = "reject..."`) is not checked.
///
/// # Errors
/// The first declared export an image lacks; an image cannot be read.
pub fn check(d: &Declaration, elf_of: impl Fn(&str) -> PathBuf) -> Result<()> {
    for (i, c) in d.compartments.iter().enumerate() {
        if c.exports.is_empty() || matches!(Declaration::expected(c), Expect::Reject(_)) {
            continue;
        }
        let package = d.package_of(c);
        let elf = elf_of(&package);
        let Some(plan) = plan(&elf)? else { continue };
        let declared = c.exports.iter().map(String::as_str);
        if let Err(ImageProblem::MissingExport { export, .. }) =
            image::check_declared(&plan, &c.name, declared)
        {
            bail!(
                "{}: compartment[{i}].exports: compartment '{}' declares export '{export}', \
                 which its image does not define ({}, package {package}; problem=missing-export, \
                 the hypervisor would reject it at load): define it in {package} with \
                 tessera_sdk::exports! (or exports_raw!), or remove it from exports",
                d.file,
                c.name,
                elf.display()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::declaration::Kind;

    fn pong() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../hypervisor/core/tests/fixtures/elf/pong.elf")
    }

    fn declaration(text: &str) -> Declaration {
        Declaration::parse("examples/x/tessera.toml", Kind::Example("x".into()), text)
            .expect("valid")
    }

    #[test]
    fn declared_exports_the_image_defines_pass() {
        let d = declaration("[[compartment]]\nname = \"pong\"\nexports = [\"pong\"]\n");
        check(&d, |_| pong()).expect("pong defines pong");
    }

    #[test]
    fn a_missing_export_fails_naming_file_field_compartment_and_export() {
        let d = declaration(
            "[[compartment]]\nname = \"a\"\n\n\
             [[compartment]]\nname = \"pong\"\nexports = [\"pong\", \"reset\"]\n",
        );
        let err = format!("{:#}", check(&d, |_| pong()).expect_err("reset is missing"));
        assert!(
            err.starts_with(
                "examples/x/tessera.toml: compartment[1].exports: compartment 'pong' declares \
                 export 'reset', which its image does not define"
            ),
            "{err}"
        );
        assert!(err.contains("problem=missing-export"), "{err}");
        // Excused where the declaration expects the rejection.
        let d = declaration(
            "[[compartment]]\nname = \"pong\"\nexports = [\"reset\"]\nexpect = \"reject:missing-export\"\n",
        );
        check(&d, |_| pong()).expect("expected rejection");
    }
}
