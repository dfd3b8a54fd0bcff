//! What the SDM says a row does, for the EPTP rules a configuration reported: the
//! conformance suite's oracle. Written from the manuals (docs/vmfunc.md and
//! docs/conformance.md list the rules and their sources), independently of
//! `tessera_core::vmfunc`, the model the emulation path runs: the emulator under test
//! never judges itself. It shares only the case layout (`tessera_core::cases`, where
//! the bytes sit) with the fixture.
//!
//! Rules applied, in the CPU's order:
//! 1. Fetch (SDM 3C §29.3.3: EPT translates every fetch): every byte the instruction has,
//!    up to 15, must be executable in the start view; the first one that is not is an EPT
//!    violation (NPF) on instruction fetch at its address.
//! 2. Decode (SDM 2A §2.1.1, §2.2.1, §2.3.11): prefixes; longer than 15 bytes → #GP(0).
//! 3. VMFUNC (SDM 2B "VMFUNC", 3C "EPTP Switching"): 66/F2/F3/LOCK → #UD; EAX ≥ 64 →
//!    #UD; function not enabled (only 0 is) → exit 59; ECX ≥ 512 → exit 59; an invalid
//!    entry → exit 59; else the switch: RIP past the instruction, EPTP-index ← ECX where
//!    #VE exists, a pending single step (TF) traps after it, and the next fetch goes
//!    through the new tables. After exit 59 the pending debug exceptions are saved clear
//!    (SDM 3C §28.3.4), so resuming after the instruction reaches the landing.
//! 4. INT n (SDM 3A §6.13, APM Vol. 2 §8.4.1): no IDT → #GP((n << 3) | 2); LOCK → #UD.
//!    ICEBP: reported as ICEBP (DESIGN §5); LOCK → #UD.
//! 5. A valid EPTP (SDM 3C "Checks on VM-Execution Control Fields"): memory type UC
//!    only where allowed, WB only where allowed, nothing else; walk length 4 (5 where
//!    supported); A/D only where supported; bit 7 only with supervisor shadow-stack
//!    control; bits 11:8 zero; no bit at or above MAXPHYADDR.

use super::rows::Row;
use tessera_core::cases::{EntryForm, Tables};

/// The guest PML4's guest-physical address (`tessera_core::guest::PAGE_TABLES_GPA`): a
/// switch to tables that map nothing faults first on the guest page walk's read of it.
const GUEST_PML4: u64 = 0x10_0000;

/// The rules a configuration reported (`@@VMFUNC_RULES`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rules {
    pub ad: bool,
    pub sss: bool,
    pub walk5: bool,
    /// The UC (0) and WB (6) EPT memory types are allowed (IA32_VMX_EPT_VPID_CAP bits 8
    /// and 14; KVM offers its L1 WB only).
    pub uc: bool,
    pub wb: bool,
    pub maxphyaddr: u8,
    /// The EPTP-index field exists (EPT-violation #VE supported).
    pub ve: bool,
    /// EPT (VMX) rather than NPT (SVM) tables: the words of second-level faults.
    pub ept: bool,
}

/// What a row should end with: the fixture's outcome word, RIP, list slot, EPTP index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expect {
    pub word: String,
    pub rip: String,
    pub view: String,
    pub index: String,
}

impl std::fmt::Display for Expect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} rip={} view={} index={}",
            self.word, self.rip, self.view, self.index
        )
    }
}

/// Engine behaviours the oracle can be asked to assume (documented deviations).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Assume {
    /// Bochs 2.7: a page-crossing instruction found in its instruction cache is run
    /// without the second page's execute check.
    pub cached_crossing_unchecked: bool,
    /// Bochs 2.7: a pending single-step #DB is saved on exit 59 and fires on resume.
    pub exit59_keeps_single_step: bool,
    /// Bochs 2.7 under KVM: the single step fires before the traced instruction runs.
    pub single_step_before_instruction: bool,
}

impl Assume {
    /// The SDM, nothing assumed.
    pub const NONE: Assume = Assume {
        cached_crossing_unchecked: false,
        exit59_keeps_single_step: false,
        single_step_before_instruction: false,
    };
}

/// Whether `entry` passes the VM-entry EPTP checks under `rules`.
pub fn valid(entry: &EntryForm, rules: &Rules) -> bool {
    let memory_type = match entry.memory_type {
        0 => rules.uc,
        6 => rules.wb,
        _ => false,
    };
    let walk = entry.walk == 4 || (entry.walk == 5 && rules.walk5);
    let bit7 = entry.reserved & 1 == 0 || rules.sss;
    !entry.zero
        && memory_type
        && walk
        && (!entry.ad || rules.ad)
        && bit7
        && entry.reserved & !1 == 0
        && !entry.wide
}

fn off(at: u64) -> String {
    format!("+{at:#x}")
}

/// Where a second-level fault of a fetch at `at` in `tables` is, if it faults. Tables
/// that map nothing (or are misconfigured) fault first on the guest page walk's access
/// to the guest PML4 (SDM 3C §29.3.3: guest paging-structure accesses are translated
/// too): a read on EPT without A/D; on NPT a write, as the APM treats every guest
/// page-table access of the nested walk as a user write (Vol. 2 §15.25.5 — the reason
/// every NPT entry needs U/S; Bochs 2.7 paging.cc `nested_walk(.., BX_RW, 1)` and QEMU
/// 7.2 excp_helper.c `ptw_translate` with MMU_DATA_STORE do the same).
fn fetch_fault(tables: Tables, at: u64, rules: &Rules) -> Option<String> {
    let violation = if rules.ept { "ept-violation" } else { "npf" };
    let walk = if rules.ept { "r" } else { "w" };
    match tables {
        Tables::Unbacked => Some(format!("{violation}:{walk}@{GUEST_PML4:#x}")),
        Tables::Misconfig if rules.ept => Some(format!("ept-misconfig@{GUEST_PML4:#x}")),
        Tables::Misconfig => Some(format!("npf:{walk}@{GUEST_PML4:#x}")),
        Tables::NextNx | Tables::NextUnmapped if at >= 0x1000 => {
            Some(format!("{violation}:x@{}", off(at)))
        }
        _ => None,
    }
}

/// The expected outcome of `row` under `rules`, assuming `assume` of the engine.
pub fn expect(row: &Row, rules: &Rules, assume: Assume) -> Expect {
    let case = &row.case;
    let layout = case.layout();
    let bytes = case.instruction();
    let index = |slot: u32| {
        if rules.ve {
            slot.to_string()
        } else {
            "-".into()
        }
    };
    let here = |word: String, rip: u64| Expect {
        word,
        rip: off(rip),
        view: "0".into(),
        index: index(0),
    };
    if case.tf && assume.single_step_before_instruction {
        return here("db".into(), layout.instruction);
    }
    // 1. The fetch in the start view.
    let fetched = bytes.len().min(15) as u64;
    let last = layout.instruction + fetched - 1;
    let crossing = last >= 0x1000;
    let skip = assume.cached_crossing_unchecked && case.warm;
    if crossing && !skip {
        if let Some(word) = fetch_fault(case.start, 0x1000.max(layout.instruction), rules) {
            return here(word, layout.instruction);
        }
    }
    // 2. Decode.
    let prefixes = bytes
        .iter()
        .take_while(|b| {
            matches!(
                b,
                0x26 | 0x2E | 0x36 | 0x3E | 0x64 | 0x65 | 0x66 | 0x67 | 0xF0 | 0xF2 | 0xF3 | 0x40
                    ..=0x4F
            )
        })
        .count();
    let run = &bytes[..prefixes];
    let opcode = &bytes[prefixes..];
    let lock = run.contains(&0xF0);
    let length = prefixes
        + match opcode {
            [0x0F, 0x01, 0xD4, ..] => 3,
            [0xCD, _, ..] => 2,
            [0xF1, ..] => 1,
            _ => 16,
        };
    if length > 15 {
        return here("gp0".into(), layout.instruction);
    }
    match opcode {
        [0xCD, _, ..] | [0xF1, ..] if lock => here("ud".into(), layout.instruction),
        [0xCD, n, ..] => here(
            format!("gp:{:#x}", (u32::from(*n) << 3) | 2),
            layout.instruction,
        ),
        [0xF1, ..] => here("icebp".into(), layout.instruction),
        _ => vmfunc(row, rules, assume, run),
    }
}

/// Rule 3 for a decoded VMFUNC with prefixes `run`.
fn vmfunc(row: &Row, rules: &Rules, assume: Assume, run: &[u8]) -> Expect {
    let case = &row.case;
    let layout = case.layout();
    let index = |slot: u32| {
        if rules.ve {
            slot.to_string()
        } else {
            "-".into()
        }
    };
    let fault_like = |word: &str| Expect {
        word: word.into(),
        rip: off(layout.instruction),
        view: "0".into(),
        index: index(0),
    };
    if run.iter().any(|b| matches!(b, 0x66 | 0xF2 | 0xF3 | 0xF0)) {
        return fault_like("ud");
    }
    let (eax, ecx) = (case.rax as u32, case.rcx as u32);
    if eax >= 64 {
        return fault_like("ud");
    }
    let target = match ecx {
        _ if eax != 0 || ecx >= 512 => None,
        0 => Some(EntryForm::plain(case.start)),
        _ => case.entry.filter(|e| valid(e, rules)),
    };
    let Some(target) = target else {
        // Exit 59; the fixture then resumes after the instruction, in the start view.
        let word = if case.tf && assume.exit59_keeps_single_step {
            "exit59+db".to_owned()
        } else {
            match fetch_fault(case.start, layout.landing, rules) {
                Some(fault) if layout.landing >= 0x1000 => format!("exit59+{fault}"),
                _ => "exit59".to_owned(),
            }
        };
        return Expect {
            word,
            rip: off(layout.landing),
            view: "0".into(),
            index: index(0),
        };
    };
    // The same pointer as the start view's is found at slot 0 first.
    let slot = if ecx != 0 && target == EntryForm::plain(case.start) {
        0
    } else {
        ecx
    };
    let landed = |word: String| Expect {
        word,
        rip: off(layout.landing),
        view: slot.to_string(),
        index: index(ecx),
    };
    if case.tf {
        return landed("db".into());
    }
    match fetch_fault(target.tables, layout.landing, rules) {
        Some(fault) => landed(fault),
        None => landed("switch".into()),
    }
}
