//! Provisioned data (docs/manifest.md "Provisioned data"): each `data` line's bytes copied
//! into frames of their own and mapped read-only (never executable) in the one view the
//! line names, in its data window (`tessera_core::layout::place_data`), with the view's
//! data directory page (`tessera_abi::gate::data`) at `layout::DATA_BASE` and its address
//! in the view's info page (`info::DATA`). No other view's table maps any of it.

use crate::port::{Frames, Memory, PAGE};
use crate::world::View;
use alloc::string::String;
use alloc::vec::Vec;
use tessera_abi::gate::{data as dir, info};
use tessera_core::layout::{DATA_BASE, place_data};
use tessera_core::manifest::DataDecl;
use tessera_core::paging::{EntryFormat, Perms};

/// Maps `entries` (each line and its bytes) into `view`; returns the frames it took (the
/// directory first). `Err`: the boot fails (the data do not fit the window, or L1 has no
/// memory for them).
pub fn map<F: EntryFormat, M: Memory>(
    mem: &mut M,
    view: &mut View<F>,
    entries: &[(&DataDecl, &[u8])],
) -> Result<Vec<Frames>, String> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let name = view.compartment.name.clone();
    let sizes: Vec<u64> = entries.iter().map(|(_, b)| b.len() as u64).collect();
    let placed = place_data(&sizes).map_err(|i| {
        alloc::format!(
            "data '{}' of '{name}' does not fit its data window",
            entries[i].0.name
        )
    })?;
    let oom = || alloc::format!("out of memory for the data of '{name}'");
    let directory = mem.frame().ok_or_else(oom)?;
    let mut frames = Vec::new();
    for (k, ((decl, bytes), gpa)) in entries.iter().zip(&placed).enumerate() {
        let pages = bytes.len().div_ceil(PAGE as usize).max(1);
        let copy = mem.alloc(pages, PAGE).ok_or_else(oom)?;
        mem.bytes_mut(&copy)[..bytes.len()].copy_from_slice(bytes);
        view.table
            .map_range(mem, *gpa, copy.start(), copy.len(), Perms::R)
            .map_err(|e| alloc::format!("mapping data '{}' of '{name}': {e}", decl.name))?;
        let entry = directory.start() + dir::ENTRIES + dir::ENTRY_SIZE * k as u64;
        let mut name_field = [0u8; dir::NAME_LEN as usize];
        name_field[..decl.name.len()].copy_from_slice(decl.name.as_bytes());
        for (w, chunk) in name_field.chunks_exact(8).enumerate() {
            let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
            mem.write_u64(entry + dir::NAME + 8 * w as u64, word);
        }
        mem.write_u64(entry + dir::ADDR, *gpa);
        mem.write_u64(entry + dir::LEN, bytes.len() as u64);
        frames.push(copy);
    }
    mem.write_u64(directory.start() + dir::COUNT, entries.len() as u64);
    view.table
        .map_range(mem, DATA_BASE, directory.start(), PAGE, Perms::R)
        .map_err(|e| alloc::format!("mapping the data directory of '{name}': {e}"))?;
    mem.write_u64(view.roots[0].info.start() + info::DATA, DATA_BASE);
    frames.insert(0, directory);
    Ok(frames)
}
