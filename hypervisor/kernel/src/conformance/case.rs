//! Running one conformance case (docs/conformance.md). The compartment calls
//! CONFORMANCE_REPORT(i); L1 saves its registers, writes the case's EPTP list (slot 0 the
//! start view, slot ECX the case's entry, every other slot empty), loads the start view,
//! sets RAX, RCX and EDX (the data selector, for the MOV-SS prologue), and resumes at the
//! case's code (which sets TF itself where the case asks). The next exit is how the instruction ended: the landing
//! `VMCALL` after it (it completed: `switch`), or a fault, exit 59 or debug trap. After
//! exit 59 L1 resumes once more after the instruction (the length the exit saved) to
//! see whether a single-step #DB survived it (SDM 3C §28.3.4: the pending debug
//! exceptions are saved clear). Then it prints `@@VMFUNC case=N eax=.. ecx=..
//! outcome=WORD rip=+OFF view=SLOT index=I` and puts the compartment back where it called.

use super::Sys;
use crate::backend::Backend;
use crate::regs::GuestRegs;
use alloc::string::String;
use tessera_abi::{error, hypercall};
use tessera_core::cases::{CASE_AREA, CASE_STRIDE, Case, EntryForm, Tables};
use tessera_core::exit::{Access, Privileged, VmExit};

/// The case running now.
#[derive(Debug)]
pub struct Active {
    index: usize,
    case: Case,
    /// The compartment's registers, its RIP after CONFORMANCE_REPORT, its RFLAGS.
    saved: (GuestRegs, u64, u64),
    /// Guest-physical address of the case's first page.
    page: u64,
    /// The warm-up run from the base view is not over yet.
    warming: bool,
    /// Exit 59 came; L1 resumed after the instruction to see what follows.
    after_exit59: bool,
}

/// One event of a case.
enum Event {
    Landed,
    Exit59(u64),
    Word(String),
}

const TF: u64 = 1 << 8;

/// Conformance fixture: starts a case (CONFORMANCE_REPORT) or ends the running one with
/// this exit. `true` if the exit was the fixture's (the run loop resumes the guest).
pub fn step<B: Backend>(
    cpu: &mut B,
    sys: &mut Sys<B>,
    exit: &VmExit,
    regs: &mut GuestRegs,
) -> bool {
    let Some(conf) = sys.conformance.as_mut() else {
        return false;
    };
    let Some(active) = conf.active.as_mut() else {
        return match exit {
            VmExit::Hypercall { len } if regs.rax == hypercall::CONFORMANCE_REPORT => {
                begin(cpu, sys, regs, *len);
                true
            }
            _ => false,
        };
    };
    let rip = cpu.rip();
    let ept = conf.cases.as_ref().is_some_and(|c| c.ept);
    let Some(event) = classify(exit, rip, active, ept) else {
        return false;
    };
    if active.warming {
        active.warming = false;
        launch(cpu, sys, regs);
        return true;
    }
    let word = match (event, active.after_exit59) {
        (Event::Exit59(len), false) => {
            active.after_exit59 = true;
            cpu.set_rip(rip.wrapping_add(len));
            return true;
        }
        (Event::Landed, false) => String::from("switch"),
        (Event::Landed, true) => String::from("exit59"),
        (Event::Exit59(_), true) => String::from("exit59+exit59"),
        (Event::Word(w), false) => w,
        (Event::Word(w), true) => alloc::format!("exit59+{w}"),
    };
    report(cpu, sys, &word, rip);
    finish(cpu, sys, regs);
    true
}

/// An offset from the case's first page, or the absolute address outside its pages.
fn place(addr: u64, page: u64) -> String {
    match addr.checked_sub(page) {
        Some(off) if off < CASE_STRIDE => alloc::format!("+{off:#x}"),
        _ => alloc::format!("{addr:#x}"),
    }
}

fn classify(exit: &VmExit, rip: u64, active: &Active, ept: bool) -> Option<Event> {
    let page = active.page;
    Some(Event::Word(match exit {
        VmExit::Interrupt | VmExit::Watchdog => return None,
        VmExit::Hypercall { .. } if rip == page + active.case.layout().landing => {
            return Some(Event::Landed);
        }
        VmExit::VmFunc { len } => return Some(Event::Exit59(*len)),
        VmExit::SingleStep => String::from("db"),
        VmExit::Exception { vector: 6, .. } => String::from("ud"),
        VmExit::Exception {
            vector: 13,
            error_code: Some(0),
        } => String::from("gp0"),
        VmExit::Exception {
            vector: 13,
            error_code: Some(code),
        } => alloc::format!("gp:{code:#x}"),
        VmExit::Exception { vector, .. } => alloc::format!("exception:{vector}"),
        VmExit::Privileged(Privileged::Icebp) => String::from("icebp"),
        VmExit::MemoryViolation { gpa, access, .. } => alloc::format!(
            "{}:{}@{}",
            if ept { "ept-violation" } else { "npf" },
            letters(access),
            place(*gpa, page)
        ),
        VmExit::Misconfig { gpa } => alloc::format!("ept-misconfig@{}", place(*gpa, page)),
        VmExit::Hypercall { .. } => String::from("hypercall"),
        _ => String::from("other"),
    }))
}

/// `r`, `w`, `x` for what the access was.
fn letters(access: &Access) -> String {
    let mut s = String::new();
    for (on, c) in [
        (access.read, 'r'),
        (access.write, 'w'),
        (access.execute, 'x'),
    ] {
        if on {
            s.push(c);
        }
    }
    s
}

/// CONFORMANCE_REPORT(RDI): starts case RDI, or returns BAD_STATE past the last one.
fn begin<B: Backend>(cpu: &mut B, sys: &mut Sys<B>, regs: &mut GuestRegs, len: u64) {
    let rip = cpu.rip();
    let case = sys.conformance.as_ref().and_then(|conf| {
        let cases = conf.cases.as_ref()?;
        let index = usize::try_from(regs.rdi)
            .ok()
            .filter(|i| *i < cases.count)?;
        Some((index, super::area::case(cases.module, index)?))
    });
    let Some((index, case)) = case else {
        regs.rax = error::BAD_STATE as u64;
        cpu.set_rip(rip.wrapping_add(len));
        return;
    };
    if let Some(conf) = sys.conformance.as_mut() {
        conf.active = Some(Active {
            index,
            case,
            saved: (regs.clone(), rip.wrapping_add(len), cpu.rflags()),
            page: CASE_AREA + CASE_STRIDE * index as u64,
            warming: case.warm,
            after_exit59: false,
        });
    }
    launch(cpu, sys, regs);
}

/// Sets up the running case (its warm-up run from the base view first, if it has one)
/// and points the guest at its code.
fn launch<B: Backend>(cpu: &mut B, sys: &mut Sys<B>, regs: &mut GuestRegs) {
    let Some(conf) = sys.conformance.as_ref() else {
        return;
    };
    let (Some(cases), Some(active)) = (conf.cases.as_ref(), conf.active.as_ref()) else {
        return;
    };
    let case = active.case;
    let start = if active.warming {
        Tables::Base
    } else {
        case.start
    };
    let pointer = |form: EntryForm| form.value(cases.roots.of(form.tables), cases.maxphyaddr);
    let start_pointer = pointer(EntryForm::plain(start));
    let mut list = [0u64; 512];
    list[0] = start_pointer;
    let slot = case.rcx as u32 as usize;
    if let Some(entry) = case.entry.filter(|_| (1..512).contains(&slot)) {
        list[slot] = pointer(entry);
    }
    let code = active.page + case.layout().code;
    // TF comes from the case's own prologue (`tessera_core::cases::SET_TF`).
    let rflags = active.saved.2 & !TF;
    sys.set_list(&list);
    cpu.load_view(0, start_pointer);
    cpu.set_view_index(0);
    regs.rax = case.rax;
    regs.rcx = case.rcx;
    regs.rdx = tessera_core::guest::DATA_SELECTOR.into();
    cpu.set_rflags(rflags);
    cpu.set_rip(code);
}

/// `@@VMFUNC case=N eax=.. ecx=.. outcome=WORD rip=+OFF view=SLOT index=I` for the
/// running case.
fn report<B: Backend>(cpu: &B, sys: &Sys<B>, word: &str, rip: u64) {
    let Some(active) = sys.conformance.as_ref().and_then(|c| c.active.as_ref()) else {
        return;
    };
    let view = sys
        .slot_of(cpu.current_pointer())
        .map_or(String::from("-"), |s| alloc::format!("{s}"));
    let index = cpu
        .view_index()
        .map_or(String::from("-"), |i| alloc::format!("{i}"));
    // `case eax ecx outcome` as DESIGN §9 names them; the rest is this fixture's.
    crate::sprintln!(
        "@@VMFUNC case={} eax={:#x} ecx={:#x} outcome={word} rip={} view={view} index={index}",
        active.index,
        active.case.rax as u32,
        active.case.rcx as u32,
        place(rip, active.page),
    );
}

/// Puts the compartment back where it called CONFORMANCE_REPORT, in its own view, with
/// the permanent list.
fn finish<B: Backend>(cpu: &mut B, sys: &mut Sys<B>, regs: &mut GuestRegs) {
    let Some(conf) = sys.conformance.as_mut() else {
        return;
    };
    let Some(active) = conf.active.take() else {
        return;
    };
    let list = *conf.list;
    let (saved, rip, rflags) = active.saved;
    *regs = saved;
    regs.rax = 0;
    sys.set_list(&list);
    let base = sys.views[0].pointer;
    cpu.load_view(0, base);
    cpu.set_view_index(0);
    cpu.set_rip(rip);
    cpu.set_rflags(rflags & !TF);
    cpu.clear_single_step();
    cpu.clear_interrupt_shadow();
}
