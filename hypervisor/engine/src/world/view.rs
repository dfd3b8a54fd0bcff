//! One compartment and its view, by concern: who it is and how it stands
//! ([`Compartment`]), where it lives ([`Region`], [`Image`]), its second-level tables and
//! their pointer, its gate pages ([`ViewPages`]), and what it did ([`Stats`], its console).

use super::{Lifecycle, Pristine};
use crate::ids::ViewId;
use crate::port::Frames;
use crate::stats::Stats;
use alloc::string::String;
use alloc::vec::Vec;
use tessera_core::console::Console;
use tessera_core::image::ImagePlan;
use tessera_core::layout::Region;
use tessera_core::outcome::{Expect, Outcome};
use tessera_core::paging::{EntryFormat, PageTable};

/// Where a compartment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// Who the compartment is and how it stands.
#[derive(Debug)]
pub struct Compartment {
    /// Its manifest name.
    pub name: String,
    /// How its module line says it should end (`expect=`).
    pub expect: Expect,
    pub status: Status,
    /// How it ended, once it did.
    pub outcome: Option<Outcome>,
}

impl Compartment {
    /// Whether it was stopped or never ran (its gate refuses calls).
    pub fn stopped(&self) -> bool {
        matches!(self.status, Status::Failed | Status::Rejected)
    }
}

/// A loaded image: kept whole, so a compartment can be loaded again.
#[derive(Debug)]
pub struct Image {
    /// How its segments are mapped.
    pub plan: ImagePlan,
    /// Entry point (guest-physical).
    pub entry: u64,
    /// Its memory, `plan.span` bytes.
    pub frames: Frames,
    /// Its stack.
    pub stack: Frames,
    /// Its heap (manifest `heap=`).
    pub heap: Frames,
}

/// The view's own gate pages that are the same on every vCPU (the per-vCPU ones are in
/// its [`Root`]s).
#[derive(Debug)]
pub struct ViewPages {
    /// The shared page (`gate::SHARED`): the view's, on every vCPU.
    pub shared: Frames,
    /// The channel page: L1 writes where the view's call buffers are, the view reads it.
    pub channels: Frames,
    /// The slot page holding the view's own slot.
    pub own_slot: Frames,
    /// The view's private copies of the guest page tables, where it has them.
    pub private: Vec<Frames>,
}

/// View V's root on one vCPU, `R(V,k)` (docs/gates.md "Per-vCPU views"), and the
/// per-vCPU pages only it maps, at the same guest-physical addresses as in every other
/// root of V. `R(V,0)` is the view's [`View::table`]; every other root is a fork of it
/// (`PageTable::fork`) sharing all its tables but those on the walks to these pages.
#[derive(Debug)]
pub struct Root<F: EntryFormat> {
    /// Its second-level tables.
    pub table: PageTable<F>,
    /// The table's pointer in EPTP form (on SVM a synthetic one whose address is nCR3):
    /// slot V of vCPU k's EPTP list.
    pub pointer: u64,
    /// The info page: L1 writes it (its `CPU` word is k), the view reads it.
    pub info: Frames,
    /// The state page: the view's gate on vCPU k writes it.
    pub state: Frames,
    /// The CPU-local page (`gate::LOCAL`): the view's SDK on vCPU k writes it.
    pub local: Frames,
    /// Its own stack: `None` on vCPU 0 (the image's `stack`) and without an image.
    pub stack: Option<Frames>,
}

/// One compartment and its view.
#[derive(Debug)]
pub struct View<F: EntryFormat> {
    pub id: ViewId,
    pub compartment: Compartment,
    /// Its guest-physical region (image, heap, stack).
    pub region: Region,
    /// Its image, unless it was rejected.
    pub image: Option<Image>,
    /// Its second-level tables (EPT or NPT) on vCPU 0, `R(V,0)`: where everything the
    /// view's roots share is mapped (the same tables as `roots[0].table`).
    pub table: PageTable<F>,
    /// Its root on each vCPU, by vCPU index (one at least).
    pub roots: Vec<Root<F>>,
    pub pages: ViewPages,
    pub stats: Stats,
    pub console: Console,
    /// A copy of its image as loaded, when its policy restarts it (`restart=on-fault`).
    pub pristine: Option<Pristine>,
    /// Its restarts.
    pub lifecycle: Lifecycle,
    /// Its data directory and provisioned data (manifest `data` lines), mapped R-- in
    /// this view only; never rewritten by a restart (nothing can write them).
    pub data: Vec<Frames>,
}

impl<F: EntryFormat> View<F> {
    /// Its root's pointer on vCPU `cpu` (EPTP form, for the VMFUNC model).
    pub fn pointer(&self, cpu: usize) -> u64 {
        self.roots[cpu].pointer
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.compartment.name
    }

    /// Where `addr` lies in its loaded image, counted from the region's base: the ELF
    /// address of the image's symbols (`@@FAULT ... offset=`). `None` without an image
    /// or outside it.
    pub fn image_offset(&self, addr: u64) -> Option<u64> {
        self.image.as_ref()?;
        self.region.image_offset(addr)
    }

    /// Its status before a fault stopped it: a `main` that was running (or had not run)
    /// runs again after a restart, one that returned does not.
    pub fn status_before_fault(&self) -> Status {
        match self.compartment.status {
            Status::Done => Status::Done,
            _ => Status::Ready,
        }
    }

    /// Its outcome before the fault that is deciding it now: the exit of a `main` that
    /// returned, none for one that will run again.
    pub fn outcome_before_fault(&self) -> Option<Outcome> {
        match self.compartment.status {
            Status::Done => self.compartment.outcome.clone(),
            _ => None,
        }
    }

    /// Entry point and initial stack pointer of its `main`, if it has an image.
    pub fn start(&self) -> Option<(u64, u64)> {
        let image = self.image.as_ref()?;
        Some((image.entry, self.region.stack_top - 8))
    }
}
