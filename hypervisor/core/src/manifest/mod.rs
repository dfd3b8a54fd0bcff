//! The manifest (docs/manifest.md): which compartments exist, what each exports, which
//! may call which, which memory they share, which hypercalls each may use, and the limits
//! L1 enforces on each (stack, heap, watchdog budget, nesting depth, console output).
//!
//! [`Manifest::parse`] reads and validates the text format; [`Manifest::implicit`] is the
//! manifest of a boot without one. Both return only manifests that satisfy every rule of
//! the format, and [`Manifest::to_text`] writes one back so that it parses to an equal
//! value. The view of a compartment is its position in [`Manifest::compartments`]; the
//! lookup helpers take view indices and answer `false`/`None` for indices out of range.

pub mod data;
mod error;
mod fields;
mod hypercalls;
mod parse;
mod text;

use alloc::string::String;
use alloc::vec::Vec;

pub use data::DataDecl;
pub use error::ManifestError;
pub use hypercalls::{Hypercall, HypercallSet};

/// Most compartments: the EPTP list has 512 entries and Tessera keeps one spare.
pub const MAX_COMPARTMENTS: usize = tessera_abi::gate::SLOT_COUNT as usize - 1;
/// Most exports per compartment (what its info page can hold).
pub const MAX_EXPORTS: usize = tessera_abi::gate::info::MAX_EXPORTS as usize;
/// Longest compartment or grant name, in bytes.
pub const MAX_NAME_LEN: usize = 32;
/// Longest export name, in bytes (what `REGISTER_EXPORT` and `LOOKUP` accept).
pub const MAX_EXPORT_NAME_LEN: usize = 64;
/// Names no compartment may have: `manifest` is the manifest's own module, and `size` is
/// a key of `grant` lines.
pub const RESERVED_NAMES: [&str; 2] = ["manifest", "size"];
/// Granularity of stack, heap and grant sizes.
pub const PAGE_SIZE: u64 = 4096;
/// Smallest `stack=`.
pub const MIN_STACK: u64 = PAGE_SIZE;
/// Largest `stack=`.
pub const MAX_STACK: u64 = 1 << 20;
/// Stack of a compartment line without `stack=`.
pub const DEFAULT_STACK: u64 = tessera_abi::entry::STACK_SIZE;
/// Smallest `heap=`.
pub const MIN_HEAP: u64 = PAGE_SIZE;
/// Largest `heap=` (64 MiB: L1 gives every byte real frames at boot).
pub const MAX_HEAP: u64 = 64 << 20;
/// Heap of a compartment line without `heap=`.
pub const DEFAULT_HEAP: u64 = tessera_abi::entry::HEAP_SIZE;
/// Largest grant `size=`.
pub const MAX_GRANT_SIZE: u64 = 1 << 20;
/// Watchdog budget, in TSC ticks, of one activation of an export of a compartment whose
/// line has no `watchdog=` (2^26).
pub const DEFAULT_WATCHDOG: u64 = 1 << 26;
/// Smallest `watchdog=`: below this not even a gate round trip (a few hundred
/// instructions, so ticks on Bochs) would fit.
pub const MIN_WATCHDOG: u64 = 1 << 10;
/// Largest `watchdog=` (2^40 ticks: minutes at any real TSC frequency).
pub const MAX_WATCHDOG: u64 = 1 << 40;
/// Nested activations of one compartment without `max_depth=`.
pub const DEFAULT_MAX_DEPTH: u32 = 16;
/// Largest `max_depth=` (the smallest is 1).
pub const MAX_MAX_DEPTH: u32 = 32;
/// Restarts of a `restart=on-fault` compartment without `max_restarts=`.
pub const DEFAULT_MAX_RESTARTS: u32 = 3;
/// Largest `max_restarts=` (the smallest is 0: restartable in name only).
pub const MAX_MAX_RESTARTS: u32 = 1_000_000;
/// Console output budget of a compartment without `console=` (bytes).
pub const DEFAULT_CONSOLE: u64 = 64 << 10;
/// Largest `console=` (bytes; the smallest is 0, a compartment that may print nothing).
pub const MAX_CONSOLE: u64 = 16 << 20;
/// Smallest `call_buffer=`.
pub const MIN_CALL_BUFFER: u64 = PAGE_SIZE;
/// Largest `call_buffer=` (1 MiB: each `calls` edge into the compartment gets one).
pub const MAX_CALL_BUFFER: u64 = 1 << 20;
/// Call-buffer bytes of a compartment without `call_buffer=`.
pub const DEFAULT_CALL_BUFFER: u64 = tessera_abi::gate::channels::DEFAULT_SIZE;
/// The version `tessera-manifest` must name.
pub const VERSION: u32 = 1;

/// A validated manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// In view order: view `i` is `compartments[i]`, and the `main`s run in this order.
    pub compartments: Vec<CompartmentDecl>,
    /// Shared buffers, in declaration order.
    pub grants: Vec<GrantDecl>,
    /// Read-only data for one compartment each, in declaration order.
    pub data: Vec<DataDecl>,
}

/// One `compartment` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompartmentDecl {
    /// Its name, which is also the name of the multiboot module holding its image.
    pub name: String,
    /// Export names; an export's index is its position.
    pub exports: Vec<String>,
    /// Names of the compartments it may call (never itself).
    pub calls: Vec<String>,
    /// Hypercalls it may use: [`HypercallSet::MINIMAL`] (what every compartment may use)
    /// and the ones its `hypercalls=` names, or [`HypercallSet::GRANTABLE`] without
    /// `hypercalls=`. [`HypercallSet::allows`] decides from it.
    pub hypercalls: HypercallSet,
    /// Stack bytes: a multiple of [`PAGE_SIZE`] in `MIN_STACK..=MAX_STACK`.
    pub stack: u64,
    /// Heap bytes: a multiple of [`PAGE_SIZE`] in `MIN_HEAP..=MAX_HEAP`; L1 maps them
    /// RW- in the compartment's view and tells it where in its info page.
    pub heap: u64,
    /// `watchdog=`: TSC ticks one activation of one of its exports may run, in
    /// `MIN_WATCHDOG..=MAX_WATCHDOG`; `None` when the line has no `watchdog=` (exports
    /// then get [`DEFAULT_WATCHDOG`] and `main` is not bounded). See
    /// [`CompartmentDecl::export_watchdog`] and [`CompartmentDecl::main_watchdog`].
    pub watchdog: Option<u64>,
    /// `max_depth=`: most nested activations of this compartment at once, in
    /// `1..=MAX_MAX_DEPTH`; default [`DEFAULT_MAX_DEPTH`].
    pub max_depth: u32,
    /// `console=`: bytes of output L1 prints for it (console lines with their `[NAME] `
    /// prefix, reports, its panic message) before it prints `@@TRUNCATED` and drops the
    /// rest, in `0..=MAX_CONSOLE`; default [`DEFAULT_CONSOLE`].
    pub console: u64,
    /// `restart=`: what L1 does when it stops the compartment for a fault.
    pub restart: Restart,
    /// `max_restarts=`: most restarts over the boot (with [`Restart::OnFault`]); default
    /// [`DEFAULT_MAX_RESTARTS`].
    pub max_restarts: u32,
    /// `call_buffer=`: bytes of the call buffer of each `calls` edge *into* this
    /// compartment (docs/gates.md "Call buffers"), a multiple of [`PAGE_SIZE`] in
    /// `MIN_CALL_BUFFER..=MAX_CALL_BUFFER`; default [`DEFAULT_CALL_BUFFER`].
    pub call_buffer: u64,
    /// `concurrency=`: whether its exports may run on several vCPUs at once.
    pub concurrency: Concurrency,
    /// `cpu=`: the vCPU (0-based) whose run loop runs its `main`, below
    /// [`crate::smp::MAX_CPUS`]; default 0. A K at or above the number of vCPUs the
    /// world is built for rejects the compartment at provisioning (`problem=cpu`).
    /// [`EVERY_CPU`] (`cpu=all`, parallel compartments only): its `main` runs on every
    /// vCPU at once, one thread each.
    pub cpu: u32,
}

/// `cpu=all`: a `main` that runs on every vCPU ([`CompartmentDecl::cpu`]).
pub const EVERY_CPU: u32 = u32::MAX;

/// Whether a compartment may run on several vCPUs at once (`concurrency=`; docs/gates.md
/// "Manifest: `concurrency` and `cpu`").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Concurrency {
    /// `serial` (the default): its code never runs on two vCPUs at once; a call from
    /// another vCPU while it has an activation (or its running `main`) on one is refused
    /// with `BUSY`.
    #[default]
    Serial,
    /// `parallel`: any number of vCPUs may run its exports at once.
    Parallel,
}

impl Concurrency {
    /// The info page's `CONCURRENCY` word: 0 serial, 1 parallel.
    pub fn word(self) -> u64 {
        match self {
            Concurrency::Serial => tessera_abi::gate::info::SERIAL,
            Concurrency::Parallel => tessera_abi::gate::info::PARALLEL,
        }
    }

    /// The info page's `CLAIM_BELOW` word, the gate's form of the same fact: the DEPTH
    /// below which an accepted call claims `OWNER` (no activation on this vCPU yet: DEPTH
    /// 0, or 1 with the view's `main` waiting), 0 (never) for a parallel view.
    pub fn claim_below(self) -> u64 {
        match self {
            Concurrency::Serial => 2,
            Concurrency::Parallel => 0,
        }
    }
}

/// What L1 does with a compartment it stopped for a fault (`restart=`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Restart {
    /// `never` (the default): it stays stopped; its gate refuses calls for good.
    #[default]
    Never,
    /// `on-fault`: L1 restarts it from its pristine image, at most `max_restarts` times
    /// over the boot (docs/manifest.md, "Lifecycle").
    OnFault,
}

impl CompartmentDecl {
    /// Whether its `main` runs on vCPU `cpu` (manifest `cpu=`).
    pub fn main_on(&self, cpu: usize) -> bool {
        self.cpu == EVERY_CPU || self.cpu as usize == cpu
    }

    /// A compartment with no exports and no calls, every hypercall and every limit at
    /// its default (no `watchdog=`).
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            exports: Vec::new(),
            calls: Vec::new(),
            hypercalls: HypercallSet::GRANTABLE,
            stack: DEFAULT_STACK,
            heap: DEFAULT_HEAP,
            watchdog: None,
            max_depth: DEFAULT_MAX_DEPTH,
            console: DEFAULT_CONSOLE,
            restart: Restart::Never,
            max_restarts: DEFAULT_MAX_RESTARTS,
            call_buffer: DEFAULT_CALL_BUFFER,
            concurrency: Concurrency::Serial,
            cpu: 0,
        }
    }

    /// The watchdog budget (TSC ticks) of one activation of one of its exports: its
    /// `watchdog=`, or [`DEFAULT_WATCHDOG`].
    pub fn export_watchdog(&self) -> u64 {
        self.watchdog.unwrap_or(DEFAULT_WATCHDOG)
    }

    /// Whether L1 restarts it after a fault, given the restarts it already had.
    pub fn restarts_after_fault(&self, restarts: u32) -> bool {
        self.restart == Restart::OnFault && restarts < self.max_restarts
    }

    /// The watchdog budget of its `main`: only a line that says `watchdog=` bounds it
    /// (benchmarks and long-running mains have none).
    pub fn main_watchdog(&self) -> Option<u64> {
        self.watchdog
    }
}

/// One `grant` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantDecl {
    /// Its name (what the `GRANT` hypercall looks up).
    pub name: String,
    /// Bytes: a multiple of [`PAGE_SIZE`], at most [`MAX_GRANT_SIZE`].
    pub size: u64,
    /// `(compartment name, access)`, in the order written; at least one, each compartment
    /// once.
    pub access: Vec<(String, Access)>,
}

/// How a grant is mapped in a view. Never executable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// `r`: read-only.
    Read,
    /// `rw`: read-write.
    ReadWrite,
}

impl Manifest {
    /// Parses and validates manifest text.
    ///
    /// # Errors
    /// The first problem, naming its line (1-based) and field.
    pub fn parse(text: &str) -> Result<Self, ManifestError> {
        parse::parse(text)
    }

    /// The manifest of a boot without one: each module a compartment named after it, in
    /// module order, with no exports, calls or grants.
    ///
    /// # Errors
    /// A module name that is not a valid compartment name, a repeated name, or more than
    /// [`MAX_COMPARTMENTS`] modules. The error's line is 0 and the problem names the
    /// module.
    pub fn implicit(names: &[String]) -> Result<Self, ManifestError> {
        parse::implicit(names)
    }

    /// The manifest as text in the format [`Manifest::parse`] reads.
    pub fn to_text(&self) -> String {
        text::write(self)
    }

    /// The data entries of view `view`, in declaration order.
    pub fn data_of(&self, view: usize) -> impl Iterator<Item = &DataDecl> {
        let name = self.compartments.get(view).map(|c| c.name.as_str());
        self.data
            .iter()
            .filter(move |d| Some(d.compartment.as_str()) == name)
    }

    /// The view index of compartment `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.compartments.iter().position(|c| c.name == name)
    }

    /// Whether view `caller` may call view `callee`.
    pub fn may_call(&self, caller: usize, callee: usize) -> bool {
        match (self.compartments.get(caller), self.compartments.get(callee)) {
            (Some(from), Some(to)) => from.calls.contains(&to.name),
            _ => false,
        }
    }

    /// The index of export `export` of view `view`.
    pub fn export_index(&self, view: usize, export: &str) -> Option<usize> {
        self.compartments
            .get(view)?
            .exports
            .iter()
            .position(|e| e == export)
    }

    /// The allowed-callers bitmap of view `view`'s info page: bit `S` (word `S / 64`,
    /// bit `S % 64`) set = view `S` may call `view`. All zero for a view out of range.
    pub fn callers_of(&self, view: usize) -> [u64; 8] {
        let mut bits = [0u64; 8];
        let Some(callee) = self.compartments.get(view) else {
            return bits;
        };
        for (s, caller) in self.compartments.iter().enumerate() {
            if caller.calls.contains(&callee.name) {
                set_bit(&mut bits, s);
            }
        }
        bits
    }

    /// Every `calls` edge as `(caller, callee)` view indices: callers in view order, each
    /// caller's edges in its `calls=` order (names that match no compartment skipped).
    pub fn edges(&self) -> Vec<(usize, usize)> {
        let mut edges = Vec::new();
        for (s, caller) in self.compartments.iter().enumerate() {
            for callee in &caller.calls {
                if let Some(t) = self.index_of(callee) {
                    edges.push((s, t));
                }
            }
        }
        edges
    }

    /// [`Manifest::callers_of`] for every view at once, in view order (one pass over the
    /// `calls=` lists, instead of one per view).
    pub fn all_callers(&self) -> Vec<[u64; 8]> {
        let mut index: Vec<(&str, usize)> = self
            .compartments
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.as_str(), i))
            .collect();
        index.sort_unstable();
        let mut all = alloc::vec![[0u64; 8]; self.compartments.len()];
        for (s, caller) in self.compartments.iter().enumerate() {
            for callee in &caller.calls {
                // Every view with that name (a hand-built manifest may repeat one;
                // `callers_of` matches by name too).
                let first = index.partition_point(|(n, _)| *n < callee.as_str());
                let views = index.iter().skip(first).take_while(|(n, _)| n == callee);
                for &(_, view) in views {
                    if let Some(bits) = all.get_mut(view) {
                        set_bit(bits, s);
                    }
                }
            }
        }
        all
    }

    /// Whether view `view` may make hypercall number `number`: the table's
    /// always-allowed hypercalls always, fixture-only ones never
    /// ([`HypercallSet::allows`]); numbers that name no hypercall and views out of range
    /// never.
    pub fn allows_hypercall(&self, view: usize, number: u64) -> bool {
        tessera_abi::hypercall::Hypercall::from_number(number)
            .is_some_and(|call| self.allows(view, call))
    }

    /// Whether view `view` may make `call` (`false` for a view out of range).
    pub fn allows(&self, view: usize, call: tessera_abi::hypercall::Hypercall) -> bool {
        self.compartments
            .get(view)
            .is_some_and(|c| c.hypercalls.allows(call))
    }

    /// Grant `name` as view `view` sees it: its index in [`Manifest::grants`] and the
    /// view's access. `None` if there is no such grant or the view is not granted it.
    pub fn grant_for(&self, view: usize, name: &str) -> Option<(usize, Access)> {
        let compartment = &self.compartments.get(view)?.name;
        let (index, grant) = self
            .grants
            .iter()
            .enumerate()
            .find(|(_, g)| g.name == name)?;
        let (_, access) = grant.access.iter().find(|(c, _)| c == compartment)?;
        Some((index, *access))
    }
}

fn set_bit(bits: &mut [u64; 8], index: usize) {
    if let Some(word) = bits.get_mut(index / 64) {
        *word |= 1 << (index % 64);
    }
}
