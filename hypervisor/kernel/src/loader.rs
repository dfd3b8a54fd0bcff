//! The engine's `ImageLoader` port: hermit-entry's loader, relocating a compartment image
//! into its frames. Core's validation (`tessera_core::image`) has already ruled out
//! everything hermit-entry asserts on (it panics on malformed ELF), and core's model of
//! this loader is fuzzed against it (docs/fuzzing.md).

use crate::phys::PhysMemory;
use alloc::string::String;
use tessera_core::image::ImagePlan;
use tessera_engine::port::{Frames, ImageLoader};

/// hermit-entry's loader.
#[derive(Debug, Default, Clone, Copy)]
pub struct Hermit;

impl ImageLoader<PhysMemory> for Hermit {
    fn load(
        &mut self,
        mem: &mut PhysMemory,
        frames: &Frames,
        image: &[u8],
        plan: &ImagePlan,
        base: u64,
    ) -> Result<u64, String> {
        let object =
            hermit_entry::elf::KernelObject::parse(image).map_err(|e| alloc::format!("{e}"))?;
        let memory = mem.uninit_mut(frames);
        let len = (plan.mem_size as usize).min(memory.len());
        Ok(object.load_kernel(&mut memory[..len], base).entry_point)
    }
}
