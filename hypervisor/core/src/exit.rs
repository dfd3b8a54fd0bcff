//! Vendor-neutral VM exits (DESIGN §7) and the policy that decides what each one means.
//! Backends decode their exit records into [`VmExit`]; the run loop acts on [`Action`].

use alloc::string::String;
use core::fmt;

/// How a guest access touched memory (for EPT/NPT violations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Access {
    pub read: bool,
    pub write: bool,
    pub execute: bool,
}

impl Access {
    /// `rwx` with `-` for what is missing, e.g. `r-x`.
    pub fn rwx(&self) -> String {
        let mut s = String::with_capacity(3);
        s.push(if self.read { 'r' } else { '-' });
        s.push(if self.write { 'w' } else { '-' });
        s.push(if self.execute { 'x' } else { '-' });
        s
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.execute {
            "execute"
        } else if self.write {
            "write"
        } else {
            "read"
        };
        f.write_str(kind)
    }
}

/// A privileged action the compartment attempted and L1 refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privileged {
    CrWrite(u8),
    CrRead(u8),
    DrAccess,
    Rdmsr(u32),
    Wrmsr(u32),
    Io(u16),
    DescriptorTable,
    Invlpg,
    Wbinvd,
    Xsetbv,
    Monitor,
    Mwait,
    Rdpmc,
    /// `ICEBP` (INT1, `F1`): the compartment's own instruction, reported the same on
    /// every engine (VMX: privileged software exception; SVM: the ICEBP intercept; QEMU
    /// TCG: #UD on `F1`).
    Icebp,
    Other(u32),
}

impl fmt::Display for Privileged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Privileged::CrWrite(n) => write!(f, "action=cr-write cr={n}"),
            Privileged::CrRead(n) => write!(f, "action=cr-read cr={n}"),
            Privileged::DrAccess => f.write_str("action=dr-access"),
            Privileged::Rdmsr(m) => write!(f, "action=rdmsr msr={m:#x}"),
            Privileged::Wrmsr(m) => write!(f, "action=wrmsr msr={m:#x}"),
            Privileged::Io(p) => write!(f, "action=io port={p:#x}"),
            Privileged::DescriptorTable => f.write_str("action=descriptor-table"),
            Privileged::Invlpg => f.write_str("action=invlpg"),
            Privileged::Wbinvd => f.write_str("action=wbinvd"),
            Privileged::Xsetbv => f.write_str("action=xsetbv"),
            Privileged::Monitor => f.write_str("action=monitor"),
            Privileged::Mwait => f.write_str("action=mwait"),
            Privileged::Rdpmc => f.write_str("action=rdpmc"),
            Privileged::Icebp => f.write_str("action=icebp"),
            Privileged::Other(r) => write!(f, "action=other exit_reason={r}"),
        }
    }
}

/// One VM exit, independent of VMX or SVM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VmExit {
    /// `VMCALL` (or VMMCALL): a hypercall; `len` is the instruction length.
    Hypercall { len: u64 },
    /// CPUID; `len` is the instruction length.
    Cpuid { len: u64 },
    /// An exception in the guest.
    Exception { vector: u8, error_code: Option<u32> },
    /// EPT/NPT violation: what the access was, and what the view allowed at `gpa`
    /// (all `false` where nothing is mapped).
    MemoryViolation {
        gpa: u64,
        access: Access,
        allowed: Access,
    },
    /// EPT misconfiguration (a hypervisor bug, reported as such).
    Misconfig { gpa: u64 },
    /// A privileged action refused.
    Privileged(Privileged),
    /// HLT.
    Hlt,
    /// The watchdog timer (VMX-preemption timer / SVM local-APIC timer) fired: time to
    /// check the budgets (`crate::watchdog`); by itself nobody's fault.
    Watchdog,
    /// A debug exception that is not ICEBP: with no breakpoint ever enabled (DR7 stays
    /// 0x400 and MOV DR exits), a single-step trap. Never fatal (DESIGN §6 property 9):
    /// TF set by one compartment traps in another's view after a switch.
    SingleStep,
    /// Triple fault / shutdown.
    TripleFault,
    /// External interrupt or NMI: not the compartment's doing.
    Interrupt,
    /// VM-entry failed (invalid guest state etc.): a hypervisor bug.
    EntryFailure { reason: u32, qualification: u64 },
    /// VMFUNC failed (exit 59) or was emulated into the same outcome; `len` is the
    /// instruction length the exit saves (prefixes included).
    VmFunc { len: u64 },
    /// On the emulated path, VMFUNC executed anywhere but the view's own slot: the
    /// executing view's fault (DESIGN §6 property 2), whatever bytes it got to execute.
    VmFuncOutsideSlot,
    /// A `VMFUNC` (`len` bytes with its prefixes) raised #UD because this CPU does not
    /// switch views itself: the run loop emulates it (VMFUNC-SEMANTICS.md). Never decided
    /// here; [`decide`] treats one that reaches it as the #UD it was.
    VmFuncUd { len: u64 },
    /// A software interrupt (`INT3`, `INT n`) was intercepted as such (SVM's INTn
    /// intercept). The run loop decodes it into the exception VMX would report.
    SoftwareInterrupt,
    /// An exit a backend decorator answered entirely itself (the conformance fixture,
    /// `tessera_engine::fixture`, runs its cases and hypercalls this way): the run loop
    /// counts it and checks the watchdog as for any exit, then resumes the guest as the
    /// decorator left it.
    Absorbed,
}

/// The exception a software interrupt whose instruction starts with `bytes` raises in a
/// guest without an IDT, as VMX reports it: `INT3` is #BP; `INT n` finds no gate (the IDT
/// limit is 0), so #GP with the error code naming IDT entry n (SDM 3A §6.13 "Error Code":
/// index << 3 | IDT bit 1, EXT 0 for a software interrupt; AMD APM Vol. 2 §8.4.1 gives
/// the same selector-style code). Prefixes change neither instruction (SDM 2A §2.1.1, §2.2.1:
/// segment overrides, 66, 67, REP and REX have nothing to act on), so they are skipped,
/// up to the 15-byte limit; LOCK makes either #UD (SDM 2B "INT n": "#UD if the LOCK
/// prefix is used").
pub fn software_interrupt(bytes: &[u8]) -> VmExit {
    let prefixes = bytes
        .iter()
        .take(14)
        .take_while(|b| crate::decode::is_prefix(**b))
        .count();
    let lock = bytes[..prefixes].contains(&0xF0);
    match &bytes[prefixes..] {
        [0xCC | 0xCD, ..] if lock => VmExit::Exception {
            vector: 6,
            error_code: None,
        },
        [0xCC, ..] => VmExit::Exception {
            vector: 3,
            error_code: None,
        },
        [0xCD, n, ..] if prefixes + 2 <= 15 => VmExit::Exception {
            vector: 13,
            error_code: Some((u32::from(*n) << 3) | 2),
        },
        _ => VmExit::Exception {
            vector: 13,
            error_code: Some(0),
        },
    }
}

/// Exception names for the transcript (SDM 3A Table 6-1).
pub fn exception_name(vector: u8) -> &'static str {
    match vector {
        0 => "divide-error",
        1 => "debug",
        3 => "breakpoint",
        4 => "overflow",
        5 => "bound",
        6 => "invalid-opcode",
        7 => "device-not-available",
        8 => "double-fault",
        10 => "invalid-tss",
        11 => "segment-not-present",
        12 => "stack-fault",
        13 => "general-protection",
        14 => "page-fault",
        16 => "x87-fp",
        17 => "alignment-check",
        18 => "machine-check",
        19 => "simd-fp",
        _ => "exception",
    }
}

/// What the run loop does about an exit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Handle the hypercall in RAX, then skip the instruction.
    Hypercall { len: u64 },
    /// Emulate CPUID (a fixed, minimal view), then skip the instruction.
    Cpuid { len: u64 },
    /// Re-enter the guest unchanged.
    Resume,
    /// Stop the compartment: it is contained and reported with `@@FAULT`.
    Fault(Fault),
    /// A single-step trap: clear RFLAGS.TF and the pending debug exceptions, resume.
    ClearSingleStep,
    /// Something L1 did wrong: stop the whole run with this reason.
    Bug(String),
}

/// A contained fault: `@@FAULT compartment=NAME kind=KIND details`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub kind: &'static str,
    pub details: String,
}

/// The exit policy (DESIGN §7): pure, so every rule is host-tested.
pub fn decide(exit: &VmExit) -> Action {
    use alloc::format;
    match exit {
        VmExit::Hypercall { len } => Action::Hypercall { len: *len },
        VmExit::Cpuid { len } => Action::Cpuid { len: *len },
        VmExit::Interrupt | VmExit::Watchdog | VmExit::Absorbed => Action::Resume,
        VmExit::SingleStep => Action::ClearSingleStep,
        VmExit::Exception { vector, error_code } => Action::Fault(Fault {
            kind: "exception",
            details: match error_code {
                Some(code) => format!(
                    "vector={vector} name={} error={code:#x}",
                    exception_name(*vector)
                ),
                None => format!("vector={vector} name={}", exception_name(*vector)),
            },
        }),
        VmExit::MemoryViolation {
            gpa,
            access,
            allowed,
        } => Action::Fault(Fault {
            kind: "memory",
            details: format!("gpa={gpa:#x} access={access} allowed={}", allowed.rwx()),
        }),
        VmExit::Privileged(p) => Action::Fault(Fault {
            kind: "privileged",
            details: format!("{p}"),
        }),
        VmExit::Hlt => Action::Fault(Fault {
            kind: "privileged",
            details: String::from("action=hlt"),
        }),
        VmExit::TripleFault => Action::Fault(Fault {
            kind: "triple-fault",
            details: String::new(),
        }),
        VmExit::SoftwareInterrupt => Action::Fault(Fault {
            kind: "exception",
            details: String::from("name=software-interrupt"),
        }),
        VmExit::VmFunc { .. } => Action::Fault(Fault {
            kind: "vmfunc",
            details: String::from("reason=invalid-eptp-switch"),
        }),
        VmExit::VmFuncUd { .. } => decide(&VmExit::Exception {
            vector: 6,
            error_code: None,
        }),
        VmExit::VmFuncOutsideSlot => Action::Fault(Fault {
            kind: "vmfunc",
            details: String::from("reason=outside-own-slot"),
        }),
        VmExit::Misconfig { gpa } => Action::Bug(format!("ept-misconfiguration gpa={gpa:#x}")),
        VmExit::EntryFailure {
            reason,
            qualification,
        } => Action::Bug(format!(
            "vm-entry-failed reason={reason} qualification={qualification:#x}"
        )),
    }
}

/// CPUID as a compartment sees it: only leaves 0 and 1, from the host's values, with the
/// maximum basic leaf capped at 1 and VMX (ECX bit 5) and the hypervisor bit (ECX bit 31)
/// hidden; every other leaf reads as zero. `host` gives the real `[eax, ebx, ecx, edx]`.
pub fn guest_cpuid(leaf: u32, host: impl Fn(u32) -> [u32; 4]) -> [u32; 4] {
    match leaf {
        0 => {
            let [a, b, c, d] = host(0);
            [a.min(1), b, c, d]
        }
        1 => {
            let [a, b, c, d] = host(1);
            [a, b, c & !((1 << 5) | (1 << 31)), d]
        }
        _ => [0; 4],
    }
}

#[cfg(test)]
mod cpuid_tests {
    use super::guest_cpuid;

    #[test]
    fn compartments_see_a_minimal_cpu_without_virtualization() {
        let host = |leaf: u32| match leaf {
            0 => [0xd, 1, 2, 3],
            1 => [0x306a9, 0x800, 0x8000_0021 | 0x1000, 0x178b_fbff],
            _ => [7; 4],
        };
        assert_eq!(guest_cpuid(0, host), [1, 1, 2, 3]);
        assert_eq!(guest_cpuid(1, host), [0x306a9, 0x800, 0x1001, 0x178b_fbff]);
        assert_eq!(guest_cpuid(7, host), [0; 4]);
        assert_eq!(guest_cpuid(0x4000_0000, host), [0; 4]);
    }
}
