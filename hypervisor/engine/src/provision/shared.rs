//! Pages every view maps: the fixed L2 environment (`tessera_core::guest`: guest page
//! tables and GDT) and the gate's common code and all-`int3` slot pages (docs/gates.md).

use crate::port::{Frames, Memory, PAGE};
use crate::world::GateCode;
use alloc::string::String;
use alloc::vec::Vec;
use tessera_abi::gate;
use tessera_core::guest;
use tessera_core::paging::Perms;

fn oom(what: &str) -> String {
    alloc::format!("out of memory for {what}")
}

/// A fresh frame holding `bytes` (at most a page) at its start.
pub(super) fn filled<M: Memory>(mem: &mut M, bytes: &[u8], what: &str) -> Result<Frames, String> {
    let frame = mem.frame().ok_or_else(|| oom(what))?;
    let len = bytes.len().min(PAGE as usize);
    mem.bytes_mut(&frame)[..len].copy_from_slice(&bytes[..len]);
    Ok(frame)
}

fn words(entries: &[u64]) -> Vec<u8> {
    entries.iter().flat_map(|e| e.to_le_bytes()).collect()
}

/// The guest page tables and GDT page.
#[derive(Debug)]
pub struct Environment {
    /// `(guest-physical, frame)` of each page.
    pub pages: Vec<(u64, Frames)>,
}

impl Environment {
    /// Allocates and fills the pages `tessera_core::guest` describes. The TSS after the
    /// GDT (at `TSS_OFFSET`) stays zero, which a 64-bit TSS may be.
    pub fn build<M: Memory>(mem: &mut M) -> Result<Self, String> {
        let mut pages = Vec::new();
        for (gpa, entries) in guest::page_tables() {
            pages.push((gpa, filled(mem, &words(&entries), "guest page tables")?));
        }
        let gdt = filled(mem, &words(&guest::gdt()), "the guest GDT")?;
        pages.push((guest::GDT_GPA, gdt));
        Ok(Environment { pages })
    }
}

/// The gate pages every view shares.
#[derive(Debug)]
pub struct SharedGate {
    /// The common gate code (two pages).
    pub code: [Frames; 2],
    /// The two all-`int3` slot pages.
    pub int3: [Frames; 2],
    /// Offset of `gate_land` in the code.
    pub land: u64,
    /// How gate pages are mapped (execute-only where the CPU allows).
    pub perms: Perms,
}

impl SharedGate {
    /// Copies the assembled gate code and builds the shared slot pages.
    pub fn build<M: Memory>(
        mem: &mut M,
        code: &GateCode<'_>,
        perms: Perms,
    ) -> Result<Self, String> {
        if code.bytes.len() as u64 > gate::CODE_SIZE {
            return Err("the gate code is larger than its area".into());
        }
        let split = code.bytes.len().min(PAGE as usize);
        let first = filled(mem, &code.bytes[..split], "the gate")?;
        let second = filled(mem, &code.bytes[split..], "the gate")?;
        let mut int3 = Vec::new();
        for page in 0..2 {
            let bytes = tessera_core::gate::slot_page(page, None, code.land)
                .map_err(|e| alloc::format!("gate: {e:?}"))?;
            int3.push(filled(mem, &bytes, "the gate")?);
        }
        let [a, b]: [Frames; 2] = int3.try_into().map_err(|_| String::from("gate pages"))?;
        Ok(SharedGate {
            code: [first, second],
            int3: [a, b],
            land: code.land,
            perms,
        })
    }
}
