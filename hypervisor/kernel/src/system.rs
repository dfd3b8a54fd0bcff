//! The whole application as L1 holds it: one view (EPT) per compartment from the
//! manifest, the gate region in every view, grants, and the EPTP list (DESIGN §5, §6).

use crate::compartment::{self, Checked};
use crate::gate_pages::{read_u64, write_u64};
use crate::place;
use crate::stats::Stats;
use crate::tables::FrameTables;
use alloc::string::String;
use alloc::vec::Vec;
use tessera_abi::gate::{info, state};
use tessera_core::caps::EptVpidCaps;
use tessera_core::frames::FrameAllocator;
use tessera_core::layout::{self, Layout};
use tessera_core::manifest::{Access, Manifest};
use tessera_core::multiboot::BootInfo;
use tessera_core::outcome::{Expect, Outcome};
use tessera_core::paging::{
    EntryFormat, Eptp, EptpRules, MemoryType, PageTable, Perms, validate_eptp,
};

/// Where a compartment stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Loaded; its `main` has not run yet, or is running.
    Ready,
    /// Its `main` returned; its exports stay callable.
    Done,
    /// Stopped by the hypervisor; refuses calls.
    Failed,
    /// Its image was rejected.
    Rejected,
}

/// One compartment and its view.
#[derive(Debug)]
pub struct View<F: EntryFormat> {
    pub name: String,
    pub expect: Expect,
    pub status: Status,
    pub outcome: Option<Outcome>,
    pub entry: u64,
    pub stack_top: u64,
    pub region: core::ops::Range<u64>,
    /// Its second-level tables (EPT or NPT).
    pub table: PageTable<F>,
    /// The view's pointer in EPTP form: the VMX EPT pointer, or on SVM a synthetic EPTP
    /// whose address is nCR3 (so one VMFUNC model and one list serve both).
    pub pointer: u64,
    pub info_hpa: u64,
    pub state_hpa: u64,
    pub stats: Stats,
    pub console: crate::console::LineBuffer,
}

/// How views are built on this CPU: the entry format, the EPTP rules the pointers and
/// the VMFUNC model check, what the gate pages may be, the physical-address width.
#[derive(Debug, Clone, Copy)]
pub struct Paging<F> {
    pub format: F,
    pub rules: EptpRules,
    pub gate_perms: Perms,
    pub maxphyaddr: u8,
    /// The engine needs write access to guest page tables even with A/D preset (QEMU's
    /// TCG nested paging probes every guest page-table access as a store). Each view then
    /// gets its own read-write copy of the tables, so a compartment can only ever change
    /// its own; the GDT page stays shared and read-only.
    pub private_guest_tables: bool,
}

/// Every view, the grants, the EPTP list.
#[derive(Debug)]
pub struct System<F: EntryFormat> {
    pub manifest: Manifest,
    pub views: Vec<View<F>>,
    /// Guest-physical and host-physical address and size of each grant.
    pub grants: Vec<(u64, u64, u64)>,
    /// Host-physical address of the EPTP list page.
    pub eptp_list: u64,
    /// The same list, for the emulation path (L1 never reads guest-writable memory for it).
    pub list: alloc::boxed::Box<[u64; 512]>,
    /// This CPU's EPTP rules (what VMFUNC checks list entries against).
    pub rules: EptpRules,
    /// Exits across all views.
    pub exits: u64,
    /// Switches the emulation path performed (one VM exit each).
    pub emulated_switches: u64,
    /// The VMFUNC conformance fixture, when the boot asked for it.
    pub conformance: Option<crate::conformance::Conformance>,
}

fn frame(frames: &mut FrameAllocator) -> Result<u64, String> {
    crate::mem::zeroed_frame(frames).ok_or_else(|| String::from("out of memory for L1 tables"))
}

/// EPTP rules of this CPU (SDM 3C "Checks on VM-Execution Control Fields").
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

impl<F: EntryFormat> System<F> {
    /// Reads the manifest (or makes the implicit one), checks and loads every image,
    /// plans the guest-physical layout, and builds every view and the EPTP list.
    pub fn build(
        boot: &BootInfo,
        paging: &Paging<F>,
        frames: &mut FrameAllocator,
        conformance: bool,
    ) -> Result<System<F>, String>
    where
        F: Copy,
    {
        let maxphyaddr = paging.maxphyaddr;
        let mut modules = Vec::new();
        let mut manifest_text = None;
        for (index, module) in boot.modules.iter().enumerate() {
            let (name, expect) = compartment::describe(module, index);
            let bytes = crate::mem::module_bytes(module.start, module.end)
                .ok_or("module outside memory")?;
            if conformance && name == crate::conformance::CASES_MODULE {
                continue; // the fixture's case table, not a compartment
            }
            if name == "manifest" {
                manifest_text =
                    Some(core::str::from_utf8(bytes).map_err(|_| "manifest: not UTF-8")?);
                continue;
            }
            let expect = expect.map_err(|e| alloc::format!("module '{name}': {e}"))?;
            modules.push((name, expect, bytes));
        }
        let manifest = match manifest_text {
            Some(text) => Manifest::parse(text).map_err(|e| alloc::format!("{e}"))?,
            None => {
                let names: Vec<String> = modules.iter().map(|(n, _, _)| n.clone()).collect();
                Manifest::implicit(&names).map_err(|e| alloc::format!("{e}"))?
            }
        };

        // Check every image first: the planner needs their spans.
        let mut checked: Vec<Option<Checked<'_>>> = Vec::new();
        // The problem word of each image the validator refused, by view.
        let mut rejections: Vec<Option<&'static str>> = Vec::new();
        let mut expects = Vec::new();
        for decl in &manifest.compartments {
            let Some((_, expect, bytes)) = modules.iter().find(|(n, _, _)| *n == decl.name) else {
                return Err(alloc::format!(
                    "the manifest names compartment '{}' but no module has that name",
                    decl.name
                ));
            };
            expects.push(expect.clone());
            let image = compartment::check(&decl.name, bytes, tessera_core::image::MAX_IMAGE_SPAN);
            if let Err(error) = &image {
                place::reject(error);
            }
            rejections.push(image.as_ref().err().map(|e| e.problem.word()));
            checked.push(image.ok());
        }
        for (name, _, _) in &modules {
            if manifest.index_of(name).is_none() {
                return Err(alloc::format!(
                    "module '{name}' is not a compartment of the manifest"
                ));
            }
        }
        let spans: Vec<u64> = checked
            .iter()
            .map(|c| c.as_ref().map_or(0x1000, |c| c.plan.span))
            .collect();
        let plan: Layout = layout::plan(&manifest, &spans).map_err(|e| alloc::format!("{e}"))?;

        // Pages every view shares.
        let shared =
            crate::env::SharedPages::build(frames).ok_or("out of memory for guest tables")?;
        let gate_pages = crate::gate_pages::GatePages::build(frames, paging.gate_perms)?;
        let mut grants = Vec::new();
        for (decl, placed) in manifest.grants.iter().zip(&plan.grants) {
            let hpa = frames
                .alloc((decl.size / 0x1000) as usize)
                .ok_or_else(|| alloc::format!("grant '{}': out of memory", decl.name))?;
            // SAFETY: fresh frames owned by L1.
            unsafe { core::ptr::write_bytes(hpa as *mut u8, 0, decl.size as usize) };
            grants.push((placed.gpa, hpa, decl.size));
        }
        let rules = paging.rules;
        let all_callers = manifest.all_callers();
        let n = manifest.compartments.len();

        let mut views = Vec::with_capacity(n);
        for (i, decl) in manifest.compartments.iter().enumerate() {
            let region = &plan.regions[i];
            let mut tables = FrameTables { frames };
            let ept_err = |e| alloc::format!("view of '{}': {e}", decl.name);
            let mut ept =
                PageTable::new(paging.format, maxphyaddr, &mut tables).map_err(ept_err)?;
            // Read-only everywhere; only the conformance fixture maps them writable, for
            // its A/D-enabled entry, under which guest page walks count as writes
            // (SDM 3C "Accessed and Dirty Flags for EPT").
            let table_perms = if conformance { Perms::RW } else { Perms::R };
            for (gpa, hpa) in &shared.pages {
                let is_table = *gpa != tessera_core::guest::GDT_GPA;
                let (hpa, perms) = if is_table && paging.private_guest_tables {
                    let copy = frame(tables.frames)?;
                    // SAFETY: `hpa` is a filled guest-table page, `copy` a fresh frame,
                    // both L1-owned and identity-mapped.
                    unsafe {
                        core::ptr::copy_nonoverlapping(*hpa as *const u8, copy as *mut u8, 4096)
                    };
                    (copy, Perms::RW)
                } else {
                    (*hpa, table_perms)
                };
                ept.map_range(&mut tables, *gpa, hpa, 0x1000, perms)
                    .map_err(ept_err)?;
            }
            let (info_hpa, state_hpa) = gate_pages.map(
                &mut ept,
                &mut tables,
                &crate::gate_pages::Info {
                    view: i,
                    views: n,
                    stack_top: region.stack_top,
                    exports: decl.exports.len(),
                    callers: all_callers[i],
                    failed: checked[i].is_none(),
                    max_depth: u64::from(decl.max_depth),
                },
            )?;

            for (g, decl_g) in manifest.grants.iter().enumerate() {
                if let Some((_, access)) = decl_g.access.iter().find(|(c, _)| *c == decl.name) {
                    let perms = if *access == Access::ReadWrite {
                        Perms::RW
                    } else {
                        Perms::R
                    };
                    let (gpa, hpa, size) = grants[g];
                    ept.map_range(&mut tables, gpa, hpa, size, perms)
                        .map_err(ept_err)?;
                }
            }
            let eptp = Eptp::encode(ept.root(), MemoryType::WriteBack, 4, false)
                .map_err(|e| alloc::format!("EPTP of '{}': {e}", decl.name))?
                .bits();
            validate_eptp(eptp, &rules)
                .map_err(|e| alloc::format!("EPTP of '{}': {e}", decl.name))?;
            views.push(View {
                name: decl.name.clone(),
                expect: expects[i].clone(),
                outcome: rejections[i].map(Outcome::Rejected),
                status: if rejections[i].is_some() {
                    Status::Rejected
                } else {
                    Status::Ready
                },
                entry: 0,
                stack_top: region.stack_top,
                region: region.base..region.base + region.size,
                table: ept,
                pointer: eptp,
                info_hpa,
                state_hpa,
                stats: Stats::default(),
                console: crate::console::LineBuffer::new(&decl.name, decl.console),
            });
        }
        // Every view exists before any image is loaded: an image too large for the memory
        // left is rejected alone (DESIGN §4), never the views of the others.
        let exempt = place::load_all(&mut views, &checked, &plan.regions, frames, conformance)?;
        crate::view_check::check_all(&views, exempt)?;

        let eptp_list = frame(frames)?;
        let mut list = alloc::boxed::Box::new([0u64; 512]);
        for (i, view) in views.iter().enumerate() {
            write_u64(eptp_list, 8 * i as u64, view.pointer);
            list[i] = view.pointer;
        }
        log::info!(
            "{} view(s), {} grant(s), EPTP list at {eptp_list:#x}",
            views.len(),
            grants.len()
        );
        Ok(System {
            manifest,
            views,
            grants,
            eptp_list,
            list,
            rules,
            exits: 0,
            emulated_switches: 0,
            conformance: None,
        })
    }

    /// The view whose EPTP is `eptp` (in the conformance fixture, every list entry is an
    /// alias of its single compartment's view).
    pub fn view_of(&self, eptp: u64) -> Option<usize> {
        self.views
            .iter()
            .position(|v| v.pointer == eptp)
            .or_else(|| (self.conformance.is_some() && self.list.contains(&eptp)).then_some(0))
    }

    /// The second-level tables the CPU translates with under view pointer `pointer` (the
    /// emulation path fetches through them: in the conformance fixture a list entry may
    /// root other tables than its view's own). `None` for a root L1 cannot walk.
    pub fn tables_of(&self, pointer: u64) -> Option<PageTable<F>>
    where
        F: Copy,
    {
        let own = self.views.iter().find(|v| v.pointer == pointer);
        if let Some(view) = own {
            return Some(view.table.clone());
        }
        let any = &self.views.first()?.table;
        PageTable::from_root(
            *any.format(),
            any.maxphyaddr(),
            pointer & 0x000F_FFFF_FFFF_F000,
        )
        .ok()
    }

    /// The EPTP-list slot holding `eptp`.
    pub fn slot_of(&self, eptp: u64) -> Option<usize> {
        self.list.iter().position(|e| *e == eptp)
    }

    /// Replaces the EPTP list (conformance fixture).
    pub fn set_list(&mut self, list: &[u64; 512]) {
        for (i, e) in list.iter().enumerate() {
            write_u64(self.eptp_list, 8 * i as u64, *e);
        }
        *self.list = *list;
    }

    /// Marks a compartment stopped: its gate refuses calls from now on. Its call stack
    /// stays: L1 unwinds it (`tessera_core::contain::settle`).
    pub fn fail(&mut self, view: usize) {
        if let Some(v) = self.views.get_mut(view) {
            v.status = Status::Failed;
            v.stats.faults += 1;
            write_u64(v.info_hpa, info::FAILED, 1);
        }
    }

    /// Empties every view's call stack: a new `main` starts a new thread of control.
    pub fn reset_stacks(&self) {
        for v in &self.views {
            for offset in [state::DEPTH, state::ACTIVE, state::SENTINEL] {
                write_u64(v.state_hpa, offset, 0);
            }
        }
    }

    /// Records an export's address in a view's info page.
    pub fn set_export(&self, view: usize, index: usize, addr: u64) {
        if let Some(v) = self.views.get(view) {
            write_u64(v.info_hpa, info::EXPORTS + 8 * index as u64, addr);
        }
    }

    /// `calls_in`, `calls_out` counted by the gate in a view's state page.
    pub fn call_counts(&self, view: usize) -> (u64, u64) {
        self.views.get(view).map_or((0, 0), |v| {
            (
                read_u64(v.state_hpa, state::CALLS_IN),
                read_u64(v.state_hpa, state::CALLS_OUT),
            )
        })
    }
}
