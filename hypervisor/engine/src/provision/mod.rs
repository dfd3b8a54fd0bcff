//! Provisioning: from the boot's modules to the [`World`] the run loop works on
//! (DESIGN §4–§6). The manifest is read, every image checked before any is loaded (the
//! planner needs their spans), the guest-physical layout planned, the shared pages built,
//! then one view at a time: its table, gate pages and grants ([`view::map`]), then the
//! call buffer of every `calls` edge in its two views ([`channels`]), its provisioned
//! data (`data::map`), then each image
//! ([`image::load`]). A view exists before any image is loaded, so an image too large for
//! the memory left is rejected alone, never the views of the others. That builds each
//! view's root on vCPU 0; then every other vCPU's roots are forked from them with its own
//! per-vCPU pages ([`percpu`], docs/gates.md "Per-vCPU views"). Finally every root is
//! scanned for rogue `VMFUNC` as the CPU could fetch it, and each vCPU's EPTP list
//! written.

mod channels;
mod check;
mod data;
pub mod image;
pub mod modules;
mod percpu;
mod shared;
pub mod view;

pub use modules::{Checked, Module};

use crate::ids::ViewId;
use crate::port::{ImageLoader, Memory, PAGE, Transcript};
use crate::stats::Stats;
use crate::world::{Compartment, Counters, GateCode, Grant, Status, View, World};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use image::LoadError;
use shared::{Environment, SharedGate};
use tessera_core::caps::EptVpidCaps;
use tessera_core::console::Console;
use tessera_core::image::{ImageError, ImageProblem, MAX_IMAGE_SPAN};
use tessera_core::layout::{self, Layout};
use tessera_core::manifest::Restart;
use tessera_core::outcome::Outcome;
use tessera_core::paging::{EntryFormat, EptpRules, Perms};

/// How views are built on this CPU: the entry format, the EPTP rules the pointers and
/// the VMFUNC model check, what the gate pages may be, the physical-address width.
#[derive(Debug, Clone, Copy)]
pub struct Paging<F> {
    pub format: F,
    pub rules: EptpRules,
    pub gate_perms: Perms,
    pub maxphyaddr: u8,
    /// The CPU's nested walk needs write access to guest page tables even with A/D
    /// preset (QEMU's TCG probes every guest page-table access as a store). Each view
    /// then gets its own read-write copy of the tables, so a compartment can only ever
    /// change its own; the GDT page stays shared and read-only.
    pub private_guest_tables: bool,
}

/// EPTP rules of a VMX CPU (SDM 3C "Checks on VM-Execution Control Fields").
pub fn eptp_rules(ept: &EptVpidCaps, maxphyaddr: u8, cet_ss: bool) -> EptpRules {
    EptpRules {
        wb: ept.wb,
        uc: ept.uc,
        walk4: ept.walk4,
        walk5: ept.walk5,
        ad: ept.accessed_dirty,
        maxphyaddr,
        supervisor_shadow_stack: cet_ss,
    }
}

/// What a boot is provisioned from.
#[derive(Debug)]
pub struct Input<'a, F> {
    pub modules: &'a [Module<'a>],
    pub paging: Paging<F>,
    pub gate: GateCode<'a>,
    /// The conformance fixture's compartments, when the boot runs the fixture: their
    /// images may hold `VMFUNC`, and the guest tables are mapped writable (its
    /// A/D-enabled entry makes guest page walks count as writes, SDM 3C "Accessed and
    /// Dirty Flags for EPT").
    pub fixture: Option<&'a [&'a str]>,
    /// vCPUs to build a root of every view for (the CPUs online; 1 at least). Every
    /// vCPU gets its own EPTP list.
    pub cpus: usize,
}

/// Builds the world. `Err` is why the boot fails; an image's own problem is not one (it
/// is rejected alone, `@@REJECT`).
pub fn provision<F: EntryFormat + Copy, M: Memory>(
    mut mem: M,
    mut out: Box<dyn Transcript>,
    input: &Input<'_, F>,
    loader: &mut impl ImageLoader<M>,
) -> Result<World<F, M>, String> {
    let app = modules::application(input.modules)?;
    let manifest = app.manifest;
    let mut checked = Vec::new();
    let cpus = input.cpus.max(1);
    for (decl, (_, bytes)) in manifest.compartments.iter().zip(&app.compartments) {
        let image = placed_and_checked(decl, bytes, cpus);
        if let Err(error) = &image {
            reject(&mut *out, error);
        }
        checked.push(image);
    }
    let spans: Vec<u64> = checked
        .iter()
        .map(|c| c.as_ref().map_or(PAGE, |c| c.plan.span))
        .collect();
    let plan: Layout = layout::plan(&manifest, &spans).map_err(|e| alloc::format!("{e}"))?;
    let env = Environment::build(&mut mem)?;
    let gate = SharedGate::build(&mut mem, &input.gate, input.paging.gate_perms)?;
    let grants = grants(&mut mem, &manifest, &plan)?;
    let mut views = {
        let shared = view::Shared {
            paging: &input.paging,
            env: &env,
            gate: &gate,
            grants: &grants,
            manifest: &manifest,
            writable_env: input.fixture.is_some(),
            cpus,
        };
        let mut views = Vec::new();
        for (i, image) in checked.iter().enumerate() {
            let expect = app.compartments[i].0.clone();
            let mut view = empty_view(&mut mem, &shared, &plan, (i, expect), image)?;
            let entries: Vec<_> = (manifest.data.iter().zip(&app.data))
                .filter(|(d, _)| d.compartment == view.compartment.name)
                .map(|(d, bytes)| (d, *bytes))
                .collect();
            view.data = data::map(&mut mem, &mut view, &entries)?;
            views.push(view);
        }
        views
    };
    let channels = channels::provision(&mut mem, &mut views, &plan.channels)?;
    let mut shared_frames = Vec::new();
    shared_frames.extend(env.pages.into_iter().map(|(_, f)| f));
    shared_frames.extend(gate.code);
    shared_frames.extend(gate.int3);
    let mut world = World {
        mem,
        out,
        manifest,
        views,
        grants,
        channels,
        lists: alloc::vec![Box::new([0u64; 512])],
        rules: input.paging.rules,
        resume_offset: input.gate.resume,
        shared: shared_frames,
        counters: Counters::default(),
        threads: Vec::new(),
    };
    let exempt = load_images(&mut world, &checked, loader, input.fixture)?;
    let per = percpu::provision(&mut world, input.cpus.max(1), &input.paging.rules)?;
    check::all(&world.mem, &world.views, exempt)?;
    log::info!(
        "{} view(s), {} grant(s), {} vCPU(s): {} KiB per (view, vCPU) past vCPU 0",
        world.views.len(),
        world.grants.len(),
        world.cpus(),
        per / 1024,
    );
    Ok(world)
}

/// Writes the address of every export the manifest declares for `view` into its info
/// page, from the image's export table (docs/images.md): callable from the start, with
/// no guest code run. `modules::check` made sure the table has every one.
fn write_exports<F: EntryFormat, M: Memory>(
    mem: &mut M,
    view: &View<F>,
    declared: &[String],
    plan: &tessera_core::image::ImagePlan,
) {
    let info = view.roots[0].info.start();
    for (index, name) in declared.iter().enumerate() {
        let address = plan
            .export(name)
            .map_or(0, |offset| view.region.base + offset);
        mem.write_u64(
            info + tessera_abi::gate::info::EXPORTS + 8 * index as u64,
            address,
        );
    }
}

/// The image of `decl`, checked; first, its `main` must have a vCPU to run on, else it
/// is rejected alone, like an image the machine cannot hold (docs/gates.md "Manifest:
/// `concurrency` and `cpu`").
fn placed_and_checked<'a>(
    decl: &tessera_core::manifest::CompartmentDecl,
    bytes: &'a [u8],
    cpus: usize,
) -> Result<Checked<'a>, ImageError> {
    if decl.cpu != tessera_core::manifest::EVERY_CPU && decl.cpu as usize >= cpus {
        return Err(ImageError {
            module: decl.name.clone(),
            problem: ImageProblem::Cpu {
                cpu: decl.cpu,
                cpus,
            },
        });
    }
    modules::check(&decl.name, bytes, MAX_IMAGE_SPAN, &decl.exports)
}

/// Reports a rejected image (`@@REJECT`, DESIGN §9); the boot goes on without it.
fn reject(out: &mut dyn Transcript, error: &ImageError) {
    log::error!("rejected: {error}");
    out.line(format_args!("{}", error.reject_line()));
}

fn grants<M: Memory>(
    mem: &mut M,
    manifest: &tessera_core::manifest::Manifest,
    plan: &Layout,
) -> Result<Vec<Grant>, String> {
    let mut grants = Vec::new();
    for (decl, placed) in manifest.grants.iter().zip(&plan.grants) {
        let frames = mem
            .alloc((decl.size / PAGE) as usize, PAGE)
            .ok_or_else(|| alloc::format!("grant '{}': out of memory", decl.name))?;
        grants.push(Grant {
            gpa: placed.gpa,
            size: decl.size,
            frames,
        });
    }
    Ok(grants)
}

/// View `i` with everything but its image; a compartment whose image was refused is
/// rejected from the start (its gate refuses calls).
fn empty_view<F: EntryFormat + Copy, M: Memory>(
    mem: &mut M,
    shared: &view::Shared<'_, F>,
    plan: &Layout,
    (i, expect): (usize, tessera_core::outcome::Expect),
    image: &Result<Checked<'_>, ImageError>,
) -> Result<View<F>, String> {
    let decl = &shared.manifest.compartments[i];
    let region = plan.regions[i];
    let id = ViewId(i as u16);
    let info = view::Info {
        views: shared.manifest.compartments.len(),
        stack_top: region.stack_top,
        heap: (region.heap_bottom, region.heap_top - region.heap_bottom),
        exports: decl.exports.len(),
        callers: shared.manifest.callers_of(i),
        failed: image.is_err(),
        max_depth: u64::from(decl.max_depth),
        cpus: shared.cpus,
        concurrency: decl.concurrency,
    };
    let mapped = view::map(mem, id, shared, &info)?;
    let rejected = image.as_ref().err().map(|e| e.problem.word());
    Ok(View {
        id,
        compartment: Compartment {
            name: decl.name.clone(),
            expect,
            status: if rejected.is_some() {
                Status::Rejected
            } else {
                Status::Ready
            },
            outcome: rejected.map(Outcome::Rejected),
        },
        region,
        image: None,
        table: mapped.root.table.clone(),
        roots: alloc::vec![mapped.root],
        pages: mapped.pages,
        stats: Stats::default(),
        console: Console::new(&decl.name, decl.console),
        pristine: None,
        lifecycle: crate::world::Lifecycle::default(),
        data: Vec::new(),
    })
}

/// Loads every checked image into its view. Returns the fixture's image range in its
/// view (exempt from the final scan), when the boot runs the fixture.
fn load_images<F: EntryFormat, M: Memory>(
    world: &mut World<F, M>,
    checked: &[Result<Checked<'_>, ImageError>],
    loader: &mut impl ImageLoader<M>,
    fixture: Option<&[&str]>,
) -> Result<Option<core::ops::Range<u64>>, String> {
    let mut exempt = None;
    for (i, image) in checked.iter().enumerate() {
        let Ok(image) = image else { continue };
        let World {
            mem,
            views,
            out,
            manifest,
            ..
        } = world;
        let view = &mut views[i];
        let is_fixture = fixture.is_some_and(|names| names.contains(&view.name()));
        let name = view.compartment.name.clone();
        let what = (name.as_str(), image, &view.region);
        match image::load(mem, loader, what, &mut view.table, !is_fixture) {
            Ok(loaded) => {
                // Where it sits: a debugger loads the image's symbols at `base`.
                out.line(format_args!(
                    "@@LOAD compartment={name} base={:#x} entry={:#x} span={:#x}",
                    view.region.base, loaded.entry, image.plan.span
                ));
                write_exports(mem, view, &manifest.compartments[i].exports, &image.plan);
                // Measured: what `sha256sum` prints for the module, before any of it runs.
                let digest = tessera_core::sha256::digest(image.bytes);
                let hex = tessera_core::sha256::hex(&digest);
                out.line(format_args!("@@IMAGE compartment={name} sha256={hex}"));
                if manifest.compartments[i].restart == Restart::OnFault {
                    view.pristine = Some(image::pristine(mem, &loaded)?);
                }
                view.image = Some(loaded);
            }
            Err(LoadError::Reject(problem)) => {
                view.compartment.status = Status::Rejected;
                view.compartment.outcome = Some(Outcome::Rejected(problem.word()));
                let info = view.roots[0].info.start();
                mem.write_u64(info + tessera_abi::gate::info::FAILED, 1);
                reject(
                    &mut **out,
                    &ImageError {
                        module: name,
                        problem,
                    },
                );
            }
            Err(LoadError::Bug(e)) => return Err(e),
        }
        if is_fixture {
            let base = view.region.base;
            exempt = Some(base..base + image.plan.span);
        }
    }
    Ok(exempt)
}
