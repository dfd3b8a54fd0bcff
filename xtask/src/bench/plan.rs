//! What a benchmark run boots: the [`Plan`] (engine, switch mode, view counts,
//! timeouts), the declarations behind each boot (the gates declaration, scaled to N views
//! for the scaling benchmark), and the images built from them — booted by
//! [`super::measure()`] or written as ISOs for bare metal (`--iso DIR`).

use super::suite::{BootKind, MAX_VIEWS, boots_needed, suite};
use crate::commands::SwitchMode;
use crate::declaration::{Declaration, Kind, MANIFEST_MODULE};
use crate::engine::Engine;
use crate::examples::write_manifest;
use crate::image::{Image, Module};
use crate::tools::{self, Install};
use crate::{kernel, paths};
use anyhow::{Context, Result, bail};
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// The declaration of the gate benchmarks (relative to the workspace root).
pub const GATES_DECLARATION: &str = "compartments/benchmarks/gates";
/// The declaration of the restart benchmark (r).
pub const RESTART_DECLARATION: &str = "compartments/benchmarks/restart";
/// The fixture benchmark's package, booted alone as the module of the same name (the
/// kernel's VMFUNC fixture accepts only this name besides `conformance`).
pub const FIXTURE_PACKAGE: &str = "bench-vmfunc";
/// The callee every scaling run repeats, as named in the gates declaration.
pub const TEMPLATE_CALLEE: &str = "callee-1";
/// The compartment that calls the callees, as named in the gates declaration.
pub const CALLER: &str = "bench";

/// What to boot, and how.
#[derive(Clone, Debug)]
pub struct Plan {
    pub engine: Engine,
    pub switch: Option<SwitchMode>,
    pub views: Vec<usize>,
    /// Per boot; `None`: [`default_timeout`].
    pub timeout: Option<Duration>,
    /// Print progress on stderr.
    pub progress: bool,
}

impl Plan {
    /// How long boot `kind` may take before it is killed.
    pub fn timeout_of(&self, kind: BootKind) -> Duration {
        self.timeout
            .unwrap_or_else(|| default_timeout(&self.engine, kind.views()))
    }
}

/// Bochs needs about a second per 10 views to boot and GRUB to load the modules; the
/// benchmarks themselves take seconds.
pub fn default_timeout(engine: &Engine, views: usize) -> Duration {
    match engine {
        Engine::Bochs { .. } => Duration::from_secs(300 + views as u64),
        Engine::Qemu { .. } | Engine::Kvm { .. } | Engine::Uefi { .. } => {
            Duration::from_secs(120 + views as u64 / 4)
        }
        // Guest seconds inside the nested Linux (see crate::nested).
        Engine::NestedKvm { .. } => Duration::from_secs(300 + views as u64),
    }
}

/// The gates declaration.
pub fn gates_declaration() -> Result<Declaration> {
    bench_declaration(GATES_DECLARATION, "bench-gates")
}

/// The restart declaration (benchmark r).
pub fn restart_declaration() -> Result<Declaration> {
    bench_declaration(RESTART_DECLARATION, "bench-restart")
}

fn bench_declaration(at: &str, label: &str) -> Result<Declaration> {
    let dir = paths::workspace_root().join(at);
    let shown = format!("{at}/{}", crate::declaration::FILE_NAME);
    Ok(Declaration::load(
        &dir.join(crate::declaration::FILE_NAME),
        &shown,
        Kind::Scenario(label.into()),
    )?)
}

/// The gates declaration with its callee repeated: `callee-1` ... `callee-(views-1)`
/// (all the same package and exports), then the caller, allowed to call them all.
pub fn scaled(template: &Declaration, views: usize) -> Result<Declaration> {
    if !(2..=MAX_VIEWS).contains(&views) {
        bail!("a scaling run needs 2 to {MAX_VIEWS} views, not {views}");
    }
    let find = |name: &str| {
        template
            .compartments
            .iter()
            .find(|c| c.name == name)
            .with_context(|| format!("{} has no compartment {name}", template.file))
    };
    let callee = find(TEMPLATE_CALLEE)?;
    let mut caller = find(CALLER)?.clone();
    let mut compartments = Vec::with_capacity(views);
    for k in 1..views {
        let mut c = callee.clone();
        c.name = format!("callee-{k}");
        compartments.push(c);
    }
    caller.calls = compartments.iter().map(|c| c.name.clone()).collect();
    compartments.push(caller);
    let d = Declaration {
        file: format!("{} (scaled to {views} views)", template.file),
        kind: Kind::Scenario(format!("bench-gates-{views}")),
        compartments,
        grants: template.grants.clone(),
        data: template.data.clone(),
    };
    tessera_core::manifest::Manifest::parse(&d.manifest_text())
        .map_err(|e| anyhow::anyhow!("{}: {e}", d.file))?;
    Ok(d)
}

/// `objcopy --strip-debug`: compartment ELFs carry ~1 MB of debug info, which GRUB would
/// load once per module (hundreds of times in the scaling runs).
fn stripped(elf: &Path, dir: &Path) -> Result<PathBuf> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = elf.file_name().context("an ELF path without a file name")?;
    let out = dir.join(name).with_extension("elf");
    // Through a file of this process's own, so a concurrent one never boots half an ELF.
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let partial = out.with_extension(format!(
        "elf.{}-{}.partial",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let output = Command::new("objcopy")
        .arg("--strip-debug")
        .arg(elf)
        .arg(&partial)
        .output()
        .context("running objcopy")?;
    if !output.status.success() {
        bail!(
            "objcopy --strip-debug {} failed: {}",
            elf.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    fs::rename(&partial, &out).with_context(|| format!("writing {}", out.display()))?;
    Ok(out)
}

/// The modules of declaration `d`, with the ELF of each package from `elves`.
fn declaration_modules(d: &Declaration, elves: &HashMap<String, PathBuf>) -> Result<Vec<Module>> {
    let mut modules = Vec::with_capacity(d.compartments.len() + 1);
    for c in &d.compartments {
        let package = d.package_of(c);
        let elf = elves
            .get(&package)
            .with_context(|| format!("package {package} was not built"))?;
        modules.push(Module::new(elf.clone(), &c.name).with_args(Declaration::module_args(c)));
    }
    modules.push(Module::new(write_manifest(d)?, MANIFEST_MODULE));
    Ok(modules)
}

/// Builds the kernel's packages for the gates declaration and the fixture, each ELF
/// stripped into `target/bench/modules/`; the package → ELF map.
fn build_elves(declarations: &[&Declaration], progress: bool) -> Result<HashMap<String, PathBuf>> {
    let mut packages: Vec<String> = declarations.iter().flat_map(|d| d.packages()).collect();
    packages.push(FIXTURE_PACKAGE.into());
    if progress {
        eprintln!("building {}…", packages.join(", "));
    }
    let built = kernel::build_packages(&packages, crate::vmfunc_check::allowance)?;
    let modules_dir = super::out_dir().join("modules");
    let mut elves = HashMap::new();
    for (package, elf) in packages.iter().zip(&built) {
        elves.insert(package.clone(), stripped(elf, &modules_dir)?);
    }
    Ok(elves)
}

/// The image of every boot `plan` needs (an `Err` image: why it cannot be made), with
/// the kernel and the benchmark packages built.
pub fn images(plan: &Plan) -> Result<Vec<(BootKind, Result<Image, String>)>> {
    for &n in &plan.views {
        if !(2..=MAX_VIEWS).contains(&n) {
            bail!("--views: {n} is not in 2..={MAX_VIEWS}");
        }
    }
    let kinds = boots_needed(&suite(&plan.views), plan.switch);
    let template = gates_declaration()?;
    let restart = restart_declaration()?;
    // The fixture boot (`conformance=1`) gets the kernel with the fixture compiled in.
    let mut kernels = kernel::Kernels::default();
    let elves = build_elves(&[&template, &restart], plan.progress)?;
    let mut images = Vec::new();
    for &kind in &kinds {
        let modules = match kind {
            BootKind::Fixture => Ok(vec![Module::new(
                elves[FIXTURE_PACKAGE].clone(),
                FIXTURE_PACKAGE,
            )]),
            BootKind::Gates | BootKind::Emulated => declaration_modules(&template, &elves),
            BootKind::Restart => declaration_modules(&restart, &elves),
            BootKind::Scaling(n) => {
                scaled(&template, n).and_then(|d| declaration_modules(&d, &elves))
            }
        };
        let args = kind.kernel_args(plan.switch);
        let kernel = kernels.for_args(&args)?.elf32.clone();
        let image = modules
            .map(|modules| Image {
                modules,
                ..Image::new(kernel, args)
            })
            .map_err(|e| format!("{e:#}"));
        images.push((kind, image));
    }
    Ok(images)
}

/// `--iso DIR`: one bootable GRUB ISO per boot (`DIR/<boot>.iso`), for bare metal.
pub fn write_isos(plan: &Plan, dir: &Path) -> Result<Vec<PathBuf>> {
    tools::ensure(&tools::for_engine(&plan.engine), Install::IfRoot)?;
    let mut written = Vec::new();
    for (kind, image) in images(plan)? {
        let image = image.map_err(anyhow::Error::msg)?;
        let staging = dir.join(format!("{}.staging", kind.id()));
        fs::create_dir_all(&staging).with_context(|| format!("creating {}", staging.display()))?;
        let iso = crate::image::make_iso(&image, &staging)?;
        let to = dir.join(format!("{}.iso", kind.id()));
        fs::rename(&iso, &to).with_context(|| format!("writing {}", to.display()))?;
        fs::remove_dir_all(&staging)?;
        written.push(to);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_repeats_the_callee_and_lets_the_caller_call_them_all() {
        let template = gates_declaration().unwrap();
        let d = scaled(&template, 16).unwrap();
        let names: Vec<&str> = d.compartments.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names.len(), 16);
        assert_eq!(names[0], "callee-1");
        assert_eq!(names[14], "callee-15");
        assert_eq!(names[15], CALLER);
        assert_eq!(d.compartments[15].calls.len(), 15);
        assert_eq!(d.packages(), ["bench-callee", "bench-gate"]);
        let big = scaled(&template, MAX_VIEWS).unwrap();
        assert_eq!(big.compartments.len(), MAX_VIEWS);
        assert!(scaled(&template, 1).is_err() && scaled(&template, 512).is_err());
        let two = scaled(&template, 2).unwrap();
        assert_eq!(two.manifest_text(), template.manifest_text());
    }

    #[test]
    fn timeouts_grow_with_views_unless_given() {
        let mut plan = Plan {
            engine: crate::bench::fixtures::bochs(),
            switch: None,
            views: vec![2],
            timeout: None,
            progress: false,
        };
        assert_eq!(plan.timeout_of(BootKind::Scaling(128)).as_secs(), 428);
        assert_eq!(plan.timeout_of(BootKind::Fixture).as_secs(), 301);
        plan.timeout = Some(Duration::from_secs(9));
        assert_eq!(plan.timeout_of(BootKind::Scaling(128)).as_secs(), 9);
    }
}
