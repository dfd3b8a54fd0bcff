//! The application as L1 holds it (DESIGN §5, §6): one [`View`] per compartment of the
//! manifest, the grants, and each vCPU's EPTP list the switches use — the model the run
//! loop works on and provisioning ([`crate::provision`]) builds.
//!
//! A view is named by its [`ViewId`] everywhere; it has one root per vCPU ([`Root`],
//! docs/gates.md "Per-vCPU views"), and whatever reads a list, a root or a per-vCPU page
//! says which vCPU. A root's pointer in EPTP form is kept only for the VMFUNC model
//! (`tessera_core::vmfunc`), which decides emulated switches with the same list and rules
//! as the hardware; the backends map `ViewId`s to whatever their CPU loads.

mod hold;
mod lifecycle;
mod owner;
mod pages;
mod threads;
mod view;

pub use hold::{Hold, Shared};
pub use lifecycle::{Lifecycle, Pristine, Restarted};
pub use threads::{OnCpu, ThreadState};
pub use view::{Compartment, Image, Root, Status, View, ViewPages};

use crate::ids::ViewId;
use crate::port::{Frames, Memory, Transcript};
use alloc::boxed::Box;
use alloc::vec::Vec;
use tessera_core::manifest::Manifest;
use tessera_core::paging::{EntryFormat, EptpRules};

/// One shared-memory grant: where it is in every view granted it, and its frames.
#[derive(Debug)]
pub struct Grant {
    /// Guest-physical address.
    pub gpa: u64,
    /// Bytes.
    pub size: u64,
    /// Its memory.
    pub frames: Frames,
}

/// The call buffer of one `calls` edge (docs/gates.md "Call buffers"): mapped RW- in
/// exactly the caller's and the callee's views, at the same address; a buffer of its own
/// on each vCPU (in the two views' roots on that vCPU).
#[derive(Debug)]
pub struct Channel {
    /// The calling view.
    pub caller: crate::ids::ViewId,
    /// The called view.
    pub callee: crate::ids::ViewId,
    /// Guest-physical address.
    pub gpa: u64,
    /// Bytes.
    pub size: u64,
    /// Its memory on each vCPU, by vCPU index.
    pub frames: Vec<Frames>,
}

/// The gate code as the kernel assembled it, and where its entry points are.
#[derive(Debug, Clone, Copy)]
pub struct GateCode<'a> {
    /// The code (at most `tessera_abi::gate::CODE_SIZE` bytes).
    pub bytes: &'a [u8],
    /// Offset of `gate_land` (where every landing pad jumps).
    pub land: u64,
    /// Offset of `tessera_gate_resume`, where L1 resumes a caller whose call failed.
    pub resume: u64,
}

/// Counters across every view.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    /// VM exits.
    pub exits: u64,
    /// Switches the emulation path performed (one VM exit each).
    pub emulated_switches: u64,
    /// Compartments stopped (each [`World::fail`]): a vCPU that stopped one kicks the
    /// others.
    pub stops: u64,
}

/// Every view, the grants, the EPTP lists, and the ports the engine reaches them through.
pub struct World<F: EntryFormat, M: Memory> {
    /// L1's memory, where every view's tables and pages are.
    pub mem: M,
    /// COM1.
    pub out: Box<dyn Transcript>,
    /// What the application declared.
    pub manifest: Manifest,
    /// One per compartment, in manifest order: `views[i].id == ViewId(i)`.
    pub views: Vec<View<F>>,
    /// In manifest order.
    pub grants: Vec<Grant>,
    /// One per `calls` edge, in `Manifest::edges` order.
    pub channels: Vec<Channel>,
    /// Each vCPU's EPTP list (vCPU k's slot `i` holds view `i`'s root on vCPU k), for
    /// the VMFUNC model and the backends. One list per vCPU, one vCPU at least.
    pub lists: Vec<Box<[u64; 512]>>,
    /// This CPU's EPTP rules (what VMFUNC checks list entries against).
    pub rules: EptpRules,
    /// Where the gate's entry points are.
    pub resume_offset: u64,
    /// Pages every view maps (guest page tables, GDT, gate code, `int3` slot pages).
    pub shared: Vec<Frames>,
    pub counters: Counters,
    /// Each vCPU's thread, by vCPU index (empty until one starts).
    pub threads: Vec<ThreadState>,
}

impl<F: EntryFormat, M: Memory> core::fmt::Debug for World<F, M> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("World")
            .field("views", &self.views.len())
            .field("grants", &self.grants.len())
            .field("channels", &self.channels.len())
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl<F: EntryFormat, M: Memory> World<F, M> {
    /// The view `id`. Every `ViewId` the engine hands around names one of its views.
    pub fn view(&self, id: ViewId) -> &View<F> {
        &self.views[id.index()]
    }

    /// The view `id`, to change it.
    pub fn view_mut(&mut self, id: ViewId) -> &mut View<F> {
        &mut self.views[id.index()]
    }

    /// Every view's id, in order.
    pub fn ids(&self) -> impl Iterator<Item = ViewId> + use<F, M> {
        (0..self.views.len() as u16).map(ViewId)
    }

    /// The number of vCPUs the world was built for (each has its own EPTP list).
    pub fn cpus(&self) -> usize {
        self.lists.len()
    }

    /// vCPU `cpu`'s EPTP list.
    pub fn list(&self, cpu: usize) -> &[u64; 512] {
        &self.lists[cpu]
    }

    /// The view whose pointer sits in slot `index` of vCPU `cpu`'s list (the target of a
    /// switch on that vCPU).
    pub fn at_slot(&self, cpu: usize, index: u16) -> Option<ViewId> {
        let pointer = *self.lists.get(cpu)?.get(usize::from(index))?;
        // Slot `i` holds view `i`'s pointer: the switch's usual case, without a search.
        if let Some(view) = self.views.get(usize::from(index))
            && pointer != 0
            && view.pointer(cpu) == pointer
        {
            return Some(view.id);
        }
        self.view_of_root(cpu, pointer)
    }

    /// The view whose root on vCPU `cpu` is `pointer`: only that vCPU's roots are
    /// looked among (a root of another vCPU names no view here).
    pub fn view_of_root(&self, cpu: usize, pointer: u64) -> Option<ViewId> {
        self.views
            .iter()
            .find(|v| pointer != 0 && v.roots.get(cpu).is_some_and(|r| r.pointer == pointer))
            .map(|v| v.id)
    }

    /// Each view's pointer on vCPU `cpu` in EPTP form, in order (what a VMX backend puts
    /// in its hardware EPTP list, and an SVM backend reads nCR3 from).
    pub fn pointers(&self, cpu: usize) -> Vec<u64> {
        self.views.iter().map(|v| v.pointer(cpu)).collect()
    }

    /// Writes one line to the transcript.
    pub fn line(&mut self, args: core::fmt::Arguments<'_>) {
        self.out.line(args);
    }
}
