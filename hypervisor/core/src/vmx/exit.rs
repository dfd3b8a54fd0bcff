//! Decoding a VMX exit record into a [`VmExit`] (SDM 3C §28.2 "Recording VM-Exit
//! Information", Appendix C "VMX Basic Exit Reasons", §28.2.1 exit qualifications).

use crate::exit::{Access, Privileged, VmExit};

/// The VMCS fields one exit is decoded from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RawExit {
    pub reason: u32,
    pub qualification: u64,
    pub interruption_info: u32,
    pub interruption_error: u32,
    pub instruction_len: u64,
    pub guest_physical: u64,
    /// Guest RCX at the exit (the MSR index for RDMSR/WRMSR).
    pub rcx: u64,
}

/// Basic exit reasons used here (Appendix C).
pub mod reason {
    pub const EXCEPTION_OR_NMI: u32 = 0;
    pub const EXTERNAL_INTERRUPT: u32 = 1;
    pub const TRIPLE_FAULT: u32 = 2;
    pub const CPUID: u32 = 10;
    pub const HLT: u32 = 12;
    pub const INVLPG: u32 = 14;
    pub const RDPMC: u32 = 15;
    pub const VMCALL: u32 = 18;
    pub const CR_ACCESS: u32 = 28;
    pub const DR_ACCESS: u32 = 29;
    pub const IO: u32 = 30;
    pub const RDMSR: u32 = 31;
    pub const WRMSR: u32 = 32;
    pub const INVALID_GUEST_STATE: u32 = 33;
    pub const MSR_LOADING: u32 = 34;
    pub const MWAIT: u32 = 36;
    pub const MONITOR: u32 = 39;
    pub const MACHINE_CHECK: u32 = 41;
    pub const GDTR_IDTR: u32 = 46;
    pub const LDTR_TR: u32 = 47;
    pub const EPT_VIOLATION: u32 = 48;
    pub const EPT_MISCONFIG: u32 = 49;
    pub const PREEMPTION_TIMER: u32 = 52;
    pub const WBINVD: u32 = 54;
    pub const XSETBV: u32 = 55;
    pub const VMFUNC: u32 = 59;
}

/// Short names for `@@STATS exits.REASON=N`.
#[inline]
pub fn reason_name(basic: u32) -> &'static str {
    match basic {
        reason::EXCEPTION_OR_NMI => "exception",
        reason::EXTERNAL_INTERRUPT => "interrupt",
        reason::TRIPLE_FAULT => "triple_fault",
        reason::CPUID => "cpuid",
        reason::HLT => "hlt",
        reason::VMCALL => "vmcall",
        reason::CR_ACCESS => "cr",
        reason::IO => "io",
        reason::RDMSR => "rdmsr",
        reason::WRMSR => "wrmsr",
        reason::EPT_VIOLATION => "ept_violation",
        reason::PREEMPTION_TIMER => "watchdog",
        reason::VMFUNC => "vmfunc",
        _ => "other",
    }
}

bitflags::bitflags! {
    /// The exit-information fields of a [`RawExit`] besides the reason (and RCX, which
    /// the entry code saves anyway): what a backend VMREADs for an exit.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct ExitFields: u8 {
        const QUALIFICATION = 1 << 0;
        /// Interruption information and its error code.
        const INTERRUPTION = 1 << 1;
        const INSTRUCTION_LEN = 1 << 2;
        const GUEST_PHYSICAL = 1 << 3;
    }
}

/// The fields [`decode`] reads for an exit whose full exit-reason field is `reason`:
/// a backend need not read the others (each VMREAD is an instruction on the path of
/// every exit, the emulated switch's included). [`decode`] gives the same exit whatever
/// the other fields hold (tested).
#[inline]
pub fn fields_needed(reason: u32) -> ExitFields {
    if reason & (1 << 31) != 0 {
        return ExitFields::QUALIFICATION;
    }
    match reason & 0xFFFF {
        reason::EXCEPTION_OR_NMI => ExitFields::INTERRUPTION,
        reason::CPUID | reason::VMCALL | reason::VMFUNC => ExitFields::INSTRUCTION_LEN,
        reason::CR_ACCESS | reason::IO => ExitFields::QUALIFICATION,
        reason::INVALID_GUEST_STATE | reason::MSR_LOADING | reason::MACHINE_CHECK => {
            ExitFields::QUALIFICATION
        }
        reason::EPT_VIOLATION => ExitFields::QUALIFICATION.union(ExitFields::GUEST_PHYSICAL),
        reason::EPT_MISCONFIG => ExitFields::GUEST_PHYSICAL,
        _ => ExitFields::empty(),
    }
}

/// Whether the exit whose full exit-reason field is `reason` and whose interruption
/// information is `info` is a #UD ([`decode`] gives `Exception { vector: 6, error_code:
/// None }`): what a backend decodes further from the instruction's bytes (VMCALL on AMD,
/// the emulated VMFUNC), decided from these two fields alone, so the emulated switch's
/// exit reads nothing else before its RIP.
#[inline]
pub fn is_invalid_opcode(reason: u32, info: u32) -> bool {
    reason & (1 << 31 | 0xFFFF) == reason::EXCEPTION_OR_NMI
        && (info >> 8) & 7 != 2
        && info & 0xFF == 6
        && info & (1 << 11) == 0
}

/// Decodes one exit.
#[inline]
pub fn decode(raw: &RawExit) -> VmExit {
    // Bit 31 of the exit reason: VM-entry failure (§28.2.1); bits 15:0 the basic reason.
    let basic = raw.reason & 0xFFFF;
    if raw.reason & (1 << 31) != 0 {
        return VmExit::EntryFailure {
            reason: basic,
            qualification: raw.qualification,
        };
    }
    let q = raw.qualification;
    match basic {
        reason::EXCEPTION_OR_NMI => {
            // Interruption information (§25.9.2, Table 25-19): vector 7:0, type 10:8
            // (2 = NMI), error code valid bit 11.
            let info = raw.interruption_info;
            let vector = (info & 0xFF) as u8;
            match ((info >> 8) & 7, vector) {
                (2, _) => return VmExit::Interrupt,
                // Type 5, privileged software exception: ICEBP (§25.9.2).
                (5, 1) => return VmExit::Privileged(Privileged::Icebp),
                // A hardware #DB: single-step (the qualification has DR6.BS, §28.2.1).
                (3, 1) => return VmExit::SingleStep,
                _ => {}
            }
            VmExit::Exception {
                vector: (info & 0xFF) as u8,
                error_code: (info & (1 << 11) != 0).then_some(raw.interruption_error),
            }
        }
        reason::EXTERNAL_INTERRUPT => VmExit::Interrupt,
        reason::TRIPLE_FAULT => VmExit::TripleFault,
        reason::CPUID => VmExit::Cpuid {
            len: raw.instruction_len,
        },
        reason::VMCALL => VmExit::Hypercall {
            len: raw.instruction_len,
        },
        reason::HLT => VmExit::Hlt,
        reason::INVLPG => VmExit::Privileged(Privileged::Invlpg),
        reason::RDPMC => VmExit::Privileged(Privileged::Rdpmc),
        reason::CR_ACCESS => {
            // Table 28-3: bits 3:0 the CR, bits 5:4 access type (0 = MOV to CR).
            let cr = (q & 0xF) as u8;
            match (q >> 4) & 3 {
                1 => VmExit::Privileged(Privileged::CrRead(cr)),
                _ => VmExit::Privileged(Privileged::CrWrite(cr)),
            }
        }
        reason::DR_ACCESS => VmExit::Privileged(Privileged::DrAccess),
        // Table 28-5: bits 31:16 the port.
        reason::IO => VmExit::Privileged(Privileged::Io((q >> 16) as u16)),
        reason::RDMSR => VmExit::Privileged(Privileged::Rdmsr(raw.rcx as u32)),
        reason::WRMSR => VmExit::Privileged(Privileged::Wrmsr(raw.rcx as u32)),
        reason::MWAIT => VmExit::Privileged(Privileged::Mwait),
        reason::MONITOR => VmExit::Privileged(Privileged::Monitor),
        reason::GDTR_IDTR | reason::LDTR_TR => VmExit::Privileged(Privileged::DescriptorTable),
        reason::WBINVD => VmExit::Privileged(Privileged::Wbinvd),
        reason::XSETBV => VmExit::Privileged(Privileged::Xsetbv),
        // Table 28-7: bits 2:0 the access (read, write, instruction fetch); bits 5:3 what
        // the translation allowed (readable, writable, executable).
        reason::EPT_VIOLATION => VmExit::MemoryViolation {
            gpa: raw.guest_physical,
            access: Access {
                read: q & 1 != 0,
                write: q & 2 != 0,
                execute: q & 4 != 0,
            },
            allowed: Access {
                read: q & 8 != 0,
                write: q & 16 != 0,
                execute: q & 32 != 0,
            },
        },
        reason::EPT_MISCONFIG => VmExit::Misconfig {
            gpa: raw.guest_physical,
        },
        reason::PREEMPTION_TIMER => VmExit::Watchdog,
        reason::VMFUNC => VmExit::VmFunc {
            len: raw.instruction_len,
        },
        reason::INVALID_GUEST_STATE | reason::MSR_LOADING | reason::MACHINE_CHECK => {
            VmExit::EntryFailure {
                reason: basic,
                qualification: q,
            }
        }
        other => VmExit::Privileged(Privileged::Other(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::{Action, decide};

    #[test]
    fn divide_error_becomes_a_contained_exception_fault() {
        // Hardware exception (type 3), vector 0, no error code, valid bit 31.
        let raw = RawExit {
            reason: 0,
            interruption_info: 0x8000_0300,
            ..Default::default()
        };
        let exit = decode(&raw);
        assert_eq!(
            exit,
            VmExit::Exception {
                vector: 0,
                error_code: None
            }
        );
        match decide(&exit) {
            Action::Fault(f) => {
                assert_eq!(f.kind, "exception");
                assert_eq!(f.details, "vector=0 name=divide-error");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ept_violation_names_gpa_and_access() {
        let raw = RawExit {
            reason: 48,
            // A write (bit 1) to a page that allows read and execute (bits 3 and 5).
            qualification: 0b101_010,
            guest_physical: 0x1234_5000,
            ..Default::default()
        };
        let exit = decode(&raw);
        assert_eq!(
            exit,
            VmExit::MemoryViolation {
                gpa: 0x1234_5000,
                access: Access {
                    read: false,
                    write: true,
                    execute: false
                },
                allowed: Access {
                    read: true,
                    write: false,
                    execute: true
                }
            }
        );
        assert_eq!(
            decide(&exit),
            Action::Fault(crate::exit::Fault {
                kind: "memory",
                details: "gpa=0x12345000 access=write allowed=r-x".into()
            })
        );
    }

    #[test]
    fn privileged_actions_are_refused_and_named() {
        let cr3 = decode(&RawExit {
            reason: 28,
            qualification: 0x3,
            ..Default::default()
        });
        assert_eq!(cr3, VmExit::Privileged(Privileged::CrWrite(3)));
        let wrmsr = decode(&RawExit {
            reason: 32,
            rcx: 0xC000_0080,
            ..Default::default()
        });
        match decide(&wrmsr) {
            Action::Fault(f) => assert_eq!(f.details, "action=wrmsr msr=0xc0000080"),
            other => panic!("{other:?}"),
        }
        let io = decode(&RawExit {
            reason: 30,
            qualification: 0x3F8 << 16,
            ..Default::default()
        });
        assert_eq!(io, VmExit::Privileged(Privileged::Io(0x3F8)));
    }

    #[test]
    fn entry_failures_and_misconfigurations_are_hypervisor_bugs() {
        let failed = decode(&RawExit {
            reason: (1 << 31) | 33,
            ..Default::default()
        });
        assert!(matches!(decide(&failed), Action::Bug(_)));
        let misconfig = decode(&RawExit {
            reason: 49,
            guest_physical: 0x1000,
            ..Default::default()
        });
        assert!(matches!(decide(&misconfig), Action::Bug(_)));
    }

    #[test]
    fn hypercalls_cpuid_and_interrupts() {
        assert_eq!(
            decide(&decode(&RawExit {
                reason: 18,
                instruction_len: 3,
                ..Default::default()
            })),
            Action::Hypercall { len: 3 }
        );
        assert_eq!(
            decide(&decode(&RawExit {
                reason: 10,
                instruction_len: 2,
                ..Default::default()
            })),
            Action::Cpuid { len: 2 }
        );
        assert_eq!(
            decide(&decode(&RawExit {
                reason: 1,
                ..Default::default()
            })),
            Action::Resume
        );
        // NMI (type 2) is not the guest's exception.
        assert_eq!(
            decode(&RawExit {
                reason: 0,
                interruption_info: 0x8000_0202,
                ..Default::default()
            }),
            VmExit::Interrupt
        );
        // The preemption timer only asks L1 to check the budgets (crate::watchdog).
        assert_eq!(
            decide(&decode(&RawExit {
                reason: 52,
                ..Default::default()
            })),
            Action::Resume
        );
        // An exit a decorator answered itself is only counted and resumed.
        assert_eq!(decide(&VmExit::Absorbed), Action::Resume);
        // #DB: ICEBP (type 5) is the compartment's own privileged instruction; a hardware
        // #DB (type 3) is a single-step trap, which is never fatal.
        assert_eq!(
            decode(&RawExit {
                reason: 0,
                interruption_info: 0x8000_0501,
                ..Default::default()
            }),
            VmExit::Privileged(crate::exit::Privileged::Icebp)
        );
        let single_step = decode(&RawExit {
            reason: 0,
            interruption_info: 0x8000_0301,
            qualification: 1 << 14,
            ..Default::default()
        });
        assert_eq!(single_step, VmExit::SingleStep);
        assert_eq!(decide(&single_step), Action::ClearSingleStep);
        // INT3 (type 6) stays #BP.
        assert_eq!(
            decode(&RawExit {
                reason: 0,
                interruption_info: 0x8000_0603,
                ..Default::default()
            }),
            VmExit::Exception {
                vector: 3,
                error_code: None
            }
        );
    }
}
