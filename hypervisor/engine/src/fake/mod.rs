//! A machine made of plain data, for host tests of the engine (feature `fake`): memory as
//! one arena ([`memory`]), a transcript that keeps its lines, core's model of the image
//! loader, and (in [`backend`]) a backend that replays scripted exits.

pub mod backend;
pub mod memory;
mod step;

use crate::port::{Frames, ImageLoader, Memory, Transcript};
use crate::provision::{Input, Module, Paging, provision};
use crate::world::{GateCode, World};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use tessera_core::image::{ImageLimits, ImagePlan};
use tessera_core::paging::{Ept, EptpRules, Perms};

pub use memory::{BASE, FakeMemory};

/// A transcript that keeps its lines; clones share them (one goes into the engine, the
/// test keeps the other).
#[derive(Debug, Default, Clone)]
pub struct Lines(Arc<spin::Mutex<Vec<String>>>);

impl Transcript for Lines {
    fn line(&mut self, args: fmt::Arguments<'_>) {
        self.0.lock().push(alloc::format!("{args}"));
    }
}

impl Lines {
    /// Every line so far.
    pub fn all(&self) -> Vec<String> {
        self.0.lock().clone()
    }

    /// The lines starting with `@@WORD` (followed by a space or the end of the line).
    pub fn records(&self, word: &str) -> Vec<String> {
        let prefix = alloc::format!("@@{word}");
        self.0
            .lock()
            .iter()
            .filter(|l| {
                l.strip_prefix(&prefix)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
            })
            .cloned()
            .collect()
    }

    /// Whether some line is exactly `line`.
    pub fn has(&self, line: &str) -> bool {
        self.0.lock().iter().any(|l| l == line)
    }
}

/// Core's model of hermit-entry's loader (`tessera_core::image::load`, which the fuzzer
/// compares with hermit-entry on every image it accepts).
#[derive(Debug, Default, Clone, Copy)]
pub struct ModelLoader;

impl<M: Memory> ImageLoader<M> for ModelLoader {
    fn load(
        &mut self,
        mem: &mut M,
        frames: &Frames,
        image: &[u8],
        plan: &ImagePlan,
        base: u64,
    ) -> Result<u64, String> {
        let limits = ImageLimits {
            max_span: plan.span,
        };
        let loaded = tessera_core::image::load("image", image, &limits, base)
            .map_err(|e| alloc::format!("{e}"))?;
        let out = mem.bytes_mut(frames);
        let len = loaded.memory.len().min(out.len());
        out[..len].copy_from_slice(&loaded.memory[..len]);
        Ok(base + plan.entry_offset)
    }
}

/// The gate code a fake world maps: `int3`s (no `VMFUNC`), `gate_land` at 0x10 and the
/// resume point at 0x20.
pub const GATE_CODE: GateCode<'static> = GateCode {
    bytes: &[0xCC; 64],
    land: 0x10,
    resume: 0x20,
};

/// How a fake VMX CPU with execute-only EPT and 39 physical-address bits builds views.
pub fn ept_paging() -> Paging<Ept> {
    Paging {
        format: Ept::new(true),
        rules: EptpRules {
            wb: true,
            uc: true,
            walk4: true,
            walk5: false,
            ad: false,
            maxphyaddr: 39,
            supervisor_shadow_stack: false,
        },
        gate_perms: Perms::X,
        maxphyaddr: 39,
        private_guest_tables: false,
    }
}

/// A world provisioned from `modules` (`(command line, bytes)`, e.g. `("a", hello)` or
/// `("manifest", text)`) in `memory` bytes of fake memory, with its transcript.
pub fn world(
    modules: &[(&str, &'static [u8])],
    memory: u64,
) -> Result<(World<Ept, FakeMemory>, Lines), String> {
    provisioned(&modules_of(modules), memory, None, 1)
}

/// [`world`] built for `cpus` vCPUs (each with its own roots and EPTP list).
pub fn world_smp(
    modules: &[(&str, &'static [u8])],
    memory: u64,
    cpus: usize,
) -> Result<(World<Ept, FakeMemory>, Lines), String> {
    provisioned(&modules_of(modules), memory, None, cpus)
}

/// The modules of `(command line, bytes)` pairs.
fn modules_of(modules: &[(&str, &'static [u8])]) -> Vec<Module<'static>> {
    modules
        .iter()
        .enumerate()
        .map(|(i, (cmdline, bytes))| Module::from_cmdline(cmdline, i, bytes))
        .collect()
}

/// A fake world for the conformance fixture, its transcript and its `cases` module.
#[cfg(feature = "fixture")]
pub type FixtureWorld = (World<Ept, FakeMemory>, Lines, Option<&'static [u8]>);

/// A world provisioned for the conformance fixture, as the fixture kernel does it: the
/// `cases` module split off (and returned), the rest provisioned with `Input::fixture`.
#[cfg(feature = "fixture")]
pub fn fixture_world(
    modules: &[(&str, &'static [u8])],
    memory: u64,
) -> Result<FixtureWorld, String> {
    let (modules, cases) = crate::fixture::split_cases(&modules_of(modules));
    let fixture = Some(crate::fixture::COMPARTMENTS);
    let (world, lines) = provisioned(&modules, memory, fixture, 1)?;
    Ok((world, lines, cases))
}

fn provisioned(
    modules: &[Module<'static>],
    memory: u64,
    fixture: Option<&[&str]>,
    cpus: usize,
) -> Result<(World<Ept, FakeMemory>, Lines), String> {
    let lines = Lines::default();
    let input = Input {
        modules,
        paging: ept_paging(),
        gate: GATE_CODE,
        fixture,
        cpus,
    };
    let world = provision(
        FakeMemory::new(memory),
        Box::new(lines.clone()),
        &input,
        &mut ModelLoader,
    )?;
    Ok((world, lines))
}

/// `bytes` copied to a leaked 8-byte-aligned buffer, as a multiboot module is placed.
pub fn module(bytes: &[u8]) -> &'static [u8] {
    let mut padded: Vec<u8> = Vec::with_capacity(bytes.len() + 8);
    let skip = (8 - padded.as_ptr().addr() % 8) % 8;
    padded.resize(skip, 0);
    padded.extend_from_slice(bytes);
    &Vec::leak(padded)[skip..]
}
