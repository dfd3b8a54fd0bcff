//! The VMFUNC conformance fixture (VMFUNC-SEMANTICS.md, conformance cases): a test-only
//! EPTP list with deliberately invalid entries, reachable only with the kernel argument
//! `conformance=1` and a single compartment named `conformance` (or `bench-vmfunc`, which
//! times bare `VMFUNC` pairs between the clone views and the SWITCH_VIEW hypercall).
//! Never from a manifest.
//!
//! L1 records how each `VMFUNC` ended — exit 59, #UD, or a switch whose next fetch
//! faulted (an unbacked EPT) — resumes the compartment after it, and prints the case when
//! the compartment reports it. Switches are seen from the EPT pointer at the report.

use crate::backend::Backend;
use crate::regs::GuestRegs;
use crate::system::System;
use tessera_abi::{error, hypercall};
use tessera_core::exit::VmExit;
use tessera_core::frames::FrameAllocator;

/// List slots of the fixture (the compartment's case table uses the same numbers).
pub mod slot {
    pub const BASE: usize = 0;
    pub const CLONE: usize = 1;
    pub const EMPTY: usize = 2;
    pub const TYPES: [usize; 4] = [3, 4, 5, 6];
    pub const WALK3: usize = 7;
    pub const WALK5: usize = 8;
    pub const AD: usize = 9;
    pub const BIT7: usize = 10;
    pub const BITS_11_8: usize = 11;
    pub const WIDE: usize = 12;
    pub const UNBACKED: usize = 13;
    pub const LAST: usize = 511;
}

/// The compartments the fixture may run.
pub const FIXTURE_COMPARTMENTS: &[&str] = &["conformance", "bench-vmfunc"];

/// Fixture state.
#[derive(Debug)]
pub struct Conformance {
    /// What the last VMFUNC did, if it did not switch cleanly.
    pub pending: Option<&'static str>,
    /// The EPTP of the unbacked entry (a switch to it faults on the next fetch).
    pub unbacked: u64,
}

/// A new root sharing every lower-level table of `root`: the same translations under a
/// different EPTP (so the CPU and L1 can tell the views apart).
fn clone_root(root: u64, frames: &mut FrameAllocator) -> Option<u64> {
    let copy = crate::mem::zeroed_frame(frames)?;
    // SAFETY: `root` is a PML4 L1 built and `copy` a fresh frame, both identity-mapped
    // 4 KiB pages owned by L1.
    unsafe { core::ptr::copy_nonoverlapping(root as *const u8, copy as *mut u8, 4096) };
    Some(copy)
}

/// Replaces the EPTP list of `sys` (one compartment) with the fixture list.
pub fn install<F: tessera_core::paging::EntryFormat + Copy>(
    sys: &mut System<F>,
    frames: &mut FrameAllocator,
    maxphyaddr: u8,
) -> Result<Conformance, &'static str> {
    if sys.views.len() != 1 || !FIXTURE_COMPARTMENTS.contains(&sys.views[0].name.as_str()) {
        return Err(
            "conformance=1 needs exactly one compartment, named conformance or bench-vmfunc",
        );
    }
    let base = sys.views[0].pointer;
    let root = base & !0xFFF;
    let wb4 = base & 0xFFF;
    let clone = |frames: &mut FrameAllocator| {
        clone_root(root, frames).ok_or("out of memory for the fixture")
    };
    let mut list = [0u64; 512];
    list[slot::BASE] = base;
    list[slot::CLONE] = clone(frames)? | wb4;
    list[slot::LAST] = clone(frames)? | wb4;
    list[slot::EMPTY] = 0;
    for (slot, memory_type) in slot::TYPES.iter().zip([1u64, 2, 3, 7]) {
        list[*slot] = root | (3 << 3) | memory_type;
    }
    list[slot::WALK3] = root | (2 << 3) | 6;
    list[slot::WALK5] = root | (4 << 3) | 6;
    list[slot::AD] = clone(frames)? | wb4 | (1 << 6);
    list[slot::BIT7] = base | (1 << 7);
    list[slot::BITS_11_8] = base | (0xF << 8);
    list[slot::WIDE] = base | (1u64 << maxphyaddr.min(63));
    let unbacked = crate::mem::zeroed_frame(frames).ok_or("out of memory for the fixture")? | wb4;
    list[slot::UNBACKED] = unbacked;
    sys.set_list(&list);
    // The rules every list entry is checked against, so the expected outcome of each case
    // can be computed from the SDM table for this CPU (A/D and bit 7 differ by CPU).
    let r = sys.rules;
    crate::sprintln!(
        "@@VMFUNC_RULES ad={} sss={} walk5={} uc={} wb={} maxphyaddr={}",
        u8::from(r.ad),
        u8::from(r.supervisor_shadow_stack),
        u8::from(r.walk5),
        u8::from(r.uc),
        u8::from(r.wb),
        r.maxphyaddr
    );
    Ok(Conformance {
        pending: None,
        unbacked,
    })
}

type Sys<B> = System<<B as Backend>::Format>;

/// Conformance fixture: records how a `VMFUNC` ended (exit 59, #UD, a switch whose next
/// fetch faulted) and resumes after it. `true` if the exit was such a case.
pub fn step<B: Backend>(cpu: &mut B, sys: &mut Sys<B>, exit: &VmExit) -> bool {
    let base = sys.views[0].pointer;
    let current_pointer = cpu.current_pointer();
    let rip = cpu.rip();
    let Some(conf) = sys.conformance.as_mut() else {
        return false;
    };
    match exit {
        VmExit::VmFunc => {
            conf.pending = Some("exit59");
            cpu.set_rip(rip.wrapping_add(3));
            true
        }
        VmExit::Exception { vector: 6, .. } => {
            let mut bytes = [0u8; 4];
            if !crate::tables::fetch_guest(&sys.views[0].table, rip, &mut bytes) {
                return false;
            }
            // A VMFUNC, possibly with prefixes (case 17): skip the whole instruction.
            let Some(len) = tessera_core::decode::length_if(&bytes, &tessera_core::gate::VMFUNC)
            else {
                return false;
            };
            conf.pending = Some("ud");
            cpu.set_rip(rip.wrapping_add(len));
            true
        }
        VmExit::MemoryViolation { .. } if current_pointer == conf.unbacked => {
            conf.pending = Some("switch-fault");
            cpu.load_view(0, base);
            true
        }
        _ => false,
    }
}

/// `@@VMFUNC case=N ...` for the case the conformance compartment just ran.
fn report<F: tessera_core::paging::EntryFormat>(
    sys: &mut System<F>,
    pointer: u64,
    regs: &GuestRegs,
) {
    let slot = sys.slot_of(pointer).map_or(-1, |s| s as i64);
    let Some(conf) = sys.conformance.as_mut() else {
        return;
    };
    let outcome = conf.pending.take().unwrap_or("switch");
    crate::sprintln!(
        "@@VMFUNC case={} eax={:#x} ecx={:#x} rax={:#x} rcx={:#x} outcome={outcome} view={slot}",
        regs.rdi,
        regs.rsi as u32,
        regs.rdx as u32,
        regs.rsi,
        regs.rdx
    );
}

/// Fixture-only hypercalls (CONFORMANCE_REPORT, SWITCH_VIEW). `true` if handled.
pub fn hypercall<B: Backend>(cpu: &mut B, sys: &mut Sys<B>, regs: &mut GuestRegs) -> bool {
    if sys.conformance.is_none() {
        return false;
    }
    match regs.rax {
        hypercall::CONFORMANCE_REPORT => {
            report(sys, cpu.current_pointer(), regs);
            true
        }
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
