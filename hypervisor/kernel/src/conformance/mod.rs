//! The VMFUNC conformance fixture (docs/conformance.md): reachable only with the kernel
//! argument `conformance=1` and a single compartment named `conformance` (or
//! `bench-vmfunc`, which times bare `VMFUNC` pairs between the clone views of slots 1 and
//! 511 and the SWITCH_VIEW hypercall). Never from a manifest.
//!
//! The cases are data: a module named `cases` (`tessera_core::cases`, written by
//! `cargo xtask conformance` from row files). Their code sits in the fixture's case area
//! ([`area`]); the compartment asks for each case in turn with CONFORMANCE_REPORT, and L1
//! runs it and reports how it ended ([`case`]): `@@VMFUNC case=N ... outcome=...`.

mod area;
mod case;

pub use case::step;

use crate::backend::Backend;
use crate::regs::GuestRegs;
use crate::system::System;
use alloc::boxed::Box;
use tessera_abi::{error, hypercall};
use tessera_core::frames::FrameAllocator;
use tessera_core::multiboot::BootInfo;

/// Permanent list slots (bench-vmfunc's): the base view and two clones.
pub mod slot {
    pub const BASE: usize = 0;
    pub const CLONE: usize = 1;
    pub const LAST: usize = 511;
}

/// The compartments the fixture may run.
pub const FIXTURE_COMPARTMENTS: &[&str] = &["conformance", "bench-vmfunc"];

/// The name of the cases module.
pub const CASES_MODULE: &str = "cases";

/// Fixture state.
#[derive(Debug)]
pub struct Conformance {
    /// The permanent EPTP list, put back after every case.
    pub list: Box<[u64; 512]>,
    /// The cases, when a `cases` module came with the boot.
    pub cases: Option<Cases>,
    /// The case running now.
    pub active: Option<case::Active>,
}

/// The case module and the roots its entries use.
#[derive(Debug)]
pub struct Cases {
    pub module: &'static [u8],
    pub count: usize,
    pub roots: area::Roots,
    pub maxphyaddr: u8,
    /// The outcome word of a second-level fault: `ept` or `npt` tables.
    pub ept: bool,
}

/// The `cases` module of the boot, if any.
fn cases_module(boot: &BootInfo) -> Option<&'static [u8]> {
    boot.modules.iter().enumerate().find_map(|(i, m)| {
        let (name, _) = crate::compartment::describe(m, i);
        (name == CASES_MODULE)
            .then(|| crate::mem::module_bytes(m.start, m.end))
            .flatten()
    })
}

/// What the fixture reports about the CPU besides its EPTP rules.
#[derive(Debug, Clone, Copy)]
pub struct Cpu {
    pub maxphyaddr: u8,
    /// EPT (VMX) or NPT (SVM) tables.
    pub ept: bool,
    /// The CPU supports EPT-violation #VE, so the EPTP-index field exists.
    pub ve: bool,
}

/// Installs the fixture into `sys` (one compartment): the case area and its roots, and
/// the permanent list.
pub fn install<F: tessera_core::paging::EntryFormat + Copy>(
    sys: &mut System<F>,
    boot: &BootInfo,
    frames: &mut FrameAllocator,
    cpu: Cpu,
) -> Result<Conformance, alloc::string::String> {
    if sys.views.len() != 1 || !FIXTURE_COMPARTMENTS.contains(&sys.views[0].name.as_str()) {
        return Err(
            "conformance=1 needs exactly one compartment, named conformance or bench-vmfunc".into(),
        );
    }
    let cases = match cases_module(boot) {
        Some(module) => {
            let count = area::check_module(module)?;
            area::map_cases(&mut sys.views[0].table, module, count, frames)?;
            let roots = area::roots(&sys.views[0].table, count, frames)?;
            Some(Cases {
                module,
                count,
                roots,
                maxphyaddr: cpu.maxphyaddr,
                ept: cpu.ept,
            })
        }
        None => None,
    };
    let base = sys.views[0].pointer;
    let flags = base & 0xFFF;
    let root = base & !0xFFF;
    let mut list = Box::new([0u64; 512]);
    list[slot::BASE] = base;
    list[slot::CLONE] = area::clone_root(root, frames)? | flags;
    list[slot::LAST] = area::clone_root(root, frames)? | flags;
    sys.set_list(&list);
    // The rules every list entry is checked against, so the expected outcome of each case
    // can be computed from the SDM for this CPU (A/D, bit 7 and UC differ by CPU).
    let r = sys.rules;
    crate::sprintln!(
        "@@VMFUNC_RULES ad={} sss={} walk5={} uc={} wb={} maxphyaddr={} ve={} tables={}",
        u8::from(r.ad),
        u8::from(r.supervisor_shadow_stack),
        u8::from(r.walk5),
        u8::from(r.uc),
        u8::from(r.wb),
        r.maxphyaddr,
        u8::from(cpu.ve),
        if cpu.ept { "ept" } else { "npt" },
    );
    Ok(Conformance {
        list,
        cases,
        active: None,
    })
}

type Sys<B> = System<<B as Backend>::Format>;

/// Fixture-only hypercalls besides CONFORMANCE_REPORT ([`step`]): SWITCH_VIEW. `true` if
/// handled.
pub fn hypercall<B: Backend>(cpu: &mut B, sys: &mut Sys<B>, regs: &mut GuestRegs) -> bool {
    if sys.conformance.is_none() {
        return false;
    }
    match regs.rax {
        hypercall::SWITCH_VIEW => {
            // A hypervisor-mediated switch: what a design without VMFUNC costs.
            let entry = usize::try_from(regs.rdi)
                .ok()
                .and_then(|slot| sys.list.get(slot).copied())
                .filter(|e| tessera_core::paging::validate_eptp(*e, &sys.rules).is_ok());
            regs.rax = match entry {
                Some(pointer) => {
                    let view = sys.view_of(pointer).unwrap_or(0);
                    cpu.load_view(view, pointer);
                    0
                }
                None => error::BAD_STATE as u64,
            };
            true
        }
        _ => false,
    }
}
