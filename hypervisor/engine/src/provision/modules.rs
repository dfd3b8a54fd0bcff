//! What the boot brought: each module's name and expectation (from its command line
//! `PATH NAME [expect=...]`), the manifest (a module named `manifest`, or the implicit one
//! of every module), the bytes of its `data` lines (modules named `DATA-NAME`), and every
//! image checked by `tessera_core::image` before anything is loaded.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use tessera_core::image::{self, ImageError, ImageLimits, ImagePlan, ImageProblem};
use tessera_core::manifest::Manifest;
use tessera_core::manifest::data::MODULE_PREFIX as DATA_PREFIX;
use tessera_core::multiboot::parse_cmdline;
use tessera_core::outcome::Expect;

/// One boot module.
#[derive(Debug, Clone)]
pub struct Module<'a> {
    /// Its name: the first bare word after the path (`module{index}` without one).
    pub name: String,
    /// Its `expect=`, or why that could not be read.
    pub expect: Result<Expect, String>,
    /// Its bytes.
    pub bytes: &'a [u8],
}

impl<'a> Module<'a> {
    /// Module `index` with command line `cmdline` (`PATH NAME [expect=...]`).
    pub fn from_cmdline(cmdline: &str, index: usize, bytes: &'a [u8]) -> Self {
        let args = parse_cmdline(cmdline);
        let name = args
            .iter()
            .find(|(_, v)| v.is_none())
            .map(|(k, _)| k.clone());
        let expect = match args.iter().find(|(k, _)| k == "expect") {
            Some((_, Some(v))) => Expect::parse(v).map_err(|e| e.to_string()),
            Some((_, None)) => Err(String::from("expect needs a value")),
            None => Ok(Expect::default()),
        };
        Module {
            name: name.unwrap_or_else(|| alloc::format!("module{index}")),
            expect,
            bytes,
        }
    }
}

/// A validated image, before it has a place.
#[derive(Debug, Clone)]
pub struct Checked<'a> {
    pub bytes: &'a [u8],
    pub plan: ImagePlan,
}

/// Validates an image; the error names the module and the problem. Images must be
/// relocatable (the planner places them) and define every export of `exports` (the
/// manifest's `exports=` for the compartment) in their export table.
pub fn check<'a>(
    name: &str,
    bytes: &'a [u8],
    max_span: u64,
    exports: &[String],
) -> Result<Checked<'a>, ImageError> {
    let plan = image::validate(name, bytes, &ImageLimits { max_span })?;
    let problem = if plan.fixed_base.is_some() {
        Err(ImageProblem::NotRelocatable)
    } else {
        image::check_declared(&plan, name, exports.iter().map(String::as_str))
    };
    problem.map_err(|problem| ImageError {
        module: name.into(),
        problem,
    })?;
    Ok(Checked { bytes, plan })
}

/// The application the modules describe: the manifest, and for each of its compartments
/// (in manifest order) its expectation and its bytes.
#[derive(Debug)]
pub struct Application<'a> {
    pub manifest: Manifest,
    pub compartments: Vec<(Expect, &'a [u8])>,
    /// The bytes of each `data` line of the manifest, in its order.
    pub data: Vec<&'a [u8]>,
}

/// Reads the manifest (or makes the implicit one) and matches every compartment with
/// its module. The errors name the module or compartment at fault.
pub fn application<'a>(modules: &[Module<'a>]) -> Result<Application<'a>, String> {
    let mut images = Vec::new();
    let mut data: Vec<(&str, &'a [u8])> = Vec::new();
    let mut text = None;
    for module in modules {
        if let Some(name) = module.name.strip_prefix(DATA_PREFIX) {
            data.push((name, module.bytes));
            continue;
        }
        if module.name == "manifest" {
            let utf8 = core::str::from_utf8(module.bytes).map_err(|_| "manifest: not UTF-8")?;
            text = Some(utf8);
            continue;
        }
        let expect = module
            .expect
            .clone()
            .map_err(|e| alloc::format!("module '{}': {e}", module.name))?;
        images.push((module.name.as_str(), expect, module.bytes));
    }
    let manifest = match text {
        Some(text) => Manifest::parse(text).map_err(|e| alloc::format!("{e}"))?,
        None => {
            let names: Vec<String> = images.iter().map(|(n, _, _)| String::from(*n)).collect();
            Manifest::implicit(&names).map_err(|e| alloc::format!("{e}"))?
        }
    };
    for (name, _, _) in &images {
        if manifest.index_of(name).is_none() {
            return Err(alloc::format!(
                "module '{name}' is not a compartment of the manifest"
            ));
        }
    }
    let mut compartments = Vec::new();
    for decl in &manifest.compartments {
        let Some((_, expect, bytes)) = images.iter().find(|(n, _, _)| *n == decl.name) else {
            return Err(alloc::format!(
                "the manifest names compartment '{}' but no module has that name",
                decl.name
            ));
        };
        compartments.push((expect.clone(), *bytes));
    }
    let data = data_of(&manifest, &data)?;
    Ok(Application {
        manifest,
        compartments,
        data,
    })
}

/// The bytes of each of the manifest's `data` lines, from the `DATA-NAME` modules: each
/// line has exactly one module, and each module a line.
fn data_of<'a>(manifest: &Manifest, modules: &[(&str, &'a [u8])]) -> Result<Vec<&'a [u8]>, String> {
    if let Some((name, _)) = modules
        .iter()
        .find(|(name, _)| !manifest.data.iter().any(|d| d.name == *name))
    {
        return Err(alloc::format!(
            "module '{DATA_PREFIX}{name}' is not a data line of the manifest"
        ));
    }
    manifest
        .data
        .iter()
        .map(|decl| {
            let mut found = modules.iter().filter(|(name, _)| *name == decl.name);
            match (found.next(), found.next()) {
                (Some((_, bytes)), None) => Ok(*bytes),
                (None, _) => Err(alloc::format!(
                    "the manifest names data '{}' but no module is called '{}'",
                    decl.name,
                    decl.module()
                )),
                (Some(_), Some(_)) => {
                    Err(alloc::format!("two modules are called '{}'", decl.module()))
                }
            }
        })
        .collect()
}
