//! Decoding an SVM #VMEXIT into a [`VmExit`] (AMD APM Vol. 2, Appendix C "SVM Intercept
//! Exit Codes"; §15.25.6 nested page faults; §15.10 I/O and MSR intercepts).
//!
//! `VMCALL` (Intel encoding) raises #UD on AMD: the backend decodes #UD bytes with
//! [`crate::vmfunc::decode_ud`] before this; a #UD that is neither VMCALL nor VMFUNC
//! stays an exception here.

use crate::exit::{Access, Privileged, VmExit};

/// The VMCB fields one exit is decoded from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RawExit {
    pub code: u64,
    pub info1: u64,
    pub info2: u64,
    /// Guest RCX (the MSR index of an MSR intercept).
    pub rcx: u64,
}

/// Exit codes used here.
pub mod code {
    pub const CR_READ_0: u64 = 0x00;
    pub const CR_WRITE_0: u64 = 0x10;
    pub const DR_READ_0: u64 = 0x20;
    pub const EXCEPTION_0: u64 = 0x40;
    pub const INTR: u64 = 0x60;
    pub const NMI: u64 = 0x61;
    pub const SMI: u64 = 0x62;
    pub const INIT: u64 = 0x63;
    pub const IDTR_READ: u64 = 0x66;
    pub const TR_WRITE: u64 = 0x6D;
    pub const RDPMC: u64 = 0x6F;
    pub const CPUID: u64 = 0x72;
    pub const SWINT: u64 = 0x75;
    pub const INVD: u64 = 0x76;
    pub const HLT: u64 = 0x78;
    pub const INVLPG: u64 = 0x79;
    pub const INVLPGA: u64 = 0x7A;
    pub const IOIO: u64 = 0x7B;
    pub const MSR: u64 = 0x7C;
    pub const TASK_SWITCH: u64 = 0x7D;
    pub const SHUTDOWN: u64 = 0x7F;
    pub const VMRUN: u64 = 0x80;
    pub const VMMCALL: u64 = 0x81;
    pub const ICEBP: u64 = 0x88;
    pub const WBINVD: u64 = 0x89;
    pub const MONITOR: u64 = 0x8A;
    pub const MWAIT: u64 = 0x8B;
    pub const XSETBV: u64 = 0x8D;
    pub const NPF: u64 = 0x400;
    pub const INVALID: u64 = u64::MAX;
}

/// Short names for `@@STATS exits.REASON=N`.
#[inline]
pub fn reason_name(c: u64) -> &'static str {
    match c {
        0x40..=0x5F => "exception",
        code::INTR | code::NMI => "interrupt",
        code::CPUID => "cpuid",
        code::HLT => "hlt",
        code::IOIO => "io",
        code::MSR => "msr",
        code::NPF => "npt_violation",
        code::SHUTDOWN => "triple_fault",
        0x00..=0x1F => "cr",
        _ => "other",
    }
}

/// Decodes one exit.
#[inline]
pub fn decode(raw: &RawExit) -> VmExit {
    let c = raw.code;
    match c {
        code::CR_READ_0..=0x0F => VmExit::Privileged(Privileged::CrRead((c & 0xF) as u8)),
        code::CR_WRITE_0..=0x1F => VmExit::Privileged(Privileged::CrWrite((c & 0xF) as u8)),
        code::DR_READ_0..=0x3F => VmExit::Privileged(Privileged::DrAccess),
        // #DB: with no breakpoint enabled, a single-step trap (ICEBP has its own code).
        0x41 => VmExit::SingleStep,
        code::ICEBP => VmExit::Privileged(Privileged::Icebp),
        code::EXCEPTION_0..=0x5F => {
            let vector = (c - code::EXCEPTION_0) as u8;
            // APM §15.12: EXITINFO1 holds the error code for exceptions that push one.
            let has_error = matches!(vector, 8 | 10..=14 | 17 | 21 | 29 | 30);
            VmExit::Exception {
                vector,
                error_code: has_error.then_some(raw.info1 as u32),
            }
        }
        code::INTR | code::NMI | code::SMI | code::INIT => VmExit::Interrupt,
        code::IDTR_READ..=code::TR_WRITE => VmExit::Privileged(Privileged::DescriptorTable),
        code::RDPMC => VmExit::Privileged(Privileged::Rdpmc),
        code::CPUID => VmExit::Cpuid { len: 2 },
        code::SWINT => VmExit::SoftwareInterrupt,
        code::HLT => VmExit::Hlt,
        code::INVLPG | code::INVLPGA => VmExit::Privileged(Privileged::Invlpg),
        code::INVD | code::WBINVD => VmExit::Privileged(Privileged::Wbinvd),
        // EXITINFO1 bits 31:16: the port (§15.10.2).
        code::IOIO => VmExit::Privileged(Privileged::Io((raw.info1 >> 16) as u16)),
        // EXITINFO1 = 0 for RDMSR, 1 for WRMSR (§15.11).
        code::MSR if raw.info1 & 1 == 1 => VmExit::Privileged(Privileged::Wrmsr(raw.rcx as u32)),
        code::MSR => VmExit::Privileged(Privileged::Rdmsr(raw.rcx as u32)),
        code::SHUTDOWN | code::TASK_SWITCH => VmExit::TripleFault,
        code::MONITOR => VmExit::Privileged(Privileged::Monitor),
        code::MWAIT => VmExit::Privileged(Privileged::Mwait),
        code::XSETBV => VmExit::Privileged(Privileged::Xsetbv),
        // Guests use VMCALL; VMMCALL or any SVM instruction is refused like any other.
        code::VMRUN..=0x87 => VmExit::Privileged(Privileged::Other(c as u32)),
        // EXITINFO1: #PF-style error code (bit 0 present, bit 1 write, bit 4 fetch);
        // EXITINFO2: the guest-physical address (§15.25.6).
        code::NPF => {
            let e = raw.info1;
            let access = Access {
                read: e & 0b10010 == 0,
                write: e & 2 != 0,
                execute: e & 0x10 != 0,
            };
            // A present fault names what the entry lacked; the rest of the permissions are
            // not reported by the hardware, so `allowed` is conservative.
            let allowed = if e & 1 == 0 {
                Access::default()
            } else {
                Access {
                    read: true,
                    write: !access.write,
                    execute: !access.execute,
                }
            };
            VmExit::MemoryViolation {
                gpa: raw.info2,
                access,
                allowed,
            }
        }
        code::INVALID => VmExit::EntryFailure {
            reason: u32::MAX,
            qualification: 0,
        },
        other => VmExit::Privileged(Privileged::Other(other as u32)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::{Action, decide};

    #[test]
    fn exceptions_keep_their_vector_and_error_code() {
        let de = decode(&RawExit {
            code: 0x40,
            ..Default::default()
        });
        assert_eq!(
            de,
            VmExit::Exception {
                vector: 0,
                error_code: None
            }
        );
        let gp = decode(&RawExit {
            code: 0x4D,
            info1: 0x18,
            ..Default::default()
        });
        assert_eq!(
            gp,
            VmExit::Exception {
                vector: 13,
                error_code: Some(0x18)
            }
        );
    }

    #[test]
    fn nested_page_faults_name_gpa_and_access() {
        // Not present, read.
        let read = decode(&RawExit {
            code: 0x400,
            info1: 0x0,
            info2: 0x1000,
            ..Default::default()
        });
        assert_eq!(
            read,
            VmExit::MemoryViolation {
                gpa: 0x1000,
                access: Access {
                    read: true,
                    write: false,
                    execute: false
                },
                allowed: Access::default()
            }
        );
        // Present, write: the page was not writable.
        let write = decode(&RawExit {
            code: 0x400,
            info1: 0x3,
            info2: 0x20_2000,
            ..Default::default()
        });
        match decide(&write) {
            Action::Fault(f) => assert_eq!(f.details, "gpa=0x202000 access=write allowed=r-x"),
            other => panic!("{other:?}"),
        }
        // Instruction fetch.
        let fetch = decode(&RawExit {
            code: 0x400,
            info1: 0x10,
            info2: 0x5000,
            ..Default::default()
        });
        assert!(matches!(
            fetch,
            VmExit::MemoryViolation {
                access: Access { execute: true, .. },
                ..
            }
        ));
    }

    #[test]
    fn software_interrupts_become_what_vmx_reports() {
        use crate::exit::software_interrupt;
        assert_eq!(
            decode(&RawExit {
                code: 0x75,
                ..Default::default()
            }),
            VmExit::SoftwareInterrupt
        );
        assert_eq!(
            software_interrupt(&[0xCC, 0x90]),
            VmExit::Exception {
                vector: 3,
                error_code: None
            }
        );
        assert_eq!(
            software_interrupt(&[0xCD, 0x80]),
            VmExit::Exception {
                vector: 13,
                error_code: Some(0x402)
            }
        );
        // Prefixes do not change INT n (VMX reports 0x10a for `66 CD 21`; so must SVM).
        for prefixed in [
            &[0x66, 0xCD, 0x21][..],
            &[0x2E, 0x48, 0xCD, 0x21],
            &[0xF3, 0xCD, 0x21],
        ] {
            assert_eq!(
                software_interrupt(prefixed),
                VmExit::Exception {
                    vector: 13,
                    error_code: Some(0x10a)
                },
                "{prefixed:02x?}"
            );
        }
        assert_eq!(
            software_interrupt(&[0x3E, 0xCC]),
            VmExit::Exception {
                vector: 3,
                error_code: None
            }
        );
        assert_eq!(
            software_interrupt(&[0xF0, 0xCD, 0x21]),
            VmExit::Exception {
                vector: 6,
                error_code: None
            }
        );
        assert_eq!(
            software_interrupt(&[]),
            VmExit::Exception {
                vector: 13,
                error_code: Some(0)
            }
        );
    }

    #[test]
    fn debug_exits_are_single_step_and_icebp_is_privileged() {
        let raw = |code| RawExit {
            code,
            ..Default::default()
        };
        assert_eq!(decode(&raw(0x41)), VmExit::SingleStep);
        assert_eq!(
            decode(&raw(code::ICEBP)),
            VmExit::Privileged(Privileged::Icebp)
        );
        // The other SVM-instruction intercepts stay "other".
        assert_eq!(
            decode(&raw(0x87)),
            VmExit::Privileged(Privileged::Other(0x87))
        );
    }

    #[test]
    fn privileged_and_special_exits() {
        assert_eq!(
            decode(&RawExit {
                code: 0x13,
                ..Default::default()
            }),
            VmExit::Privileged(Privileged::CrWrite(3))
        );
        assert_eq!(
            decode(&RawExit {
                code: 0x7C,
                info1: 1,
                rcx: 0xC000_0082,
                ..Default::default()
            }),
            VmExit::Privileged(Privileged::Wrmsr(0xC000_0082))
        );
        assert_eq!(
            decode(&RawExit {
                code: 0x7B,
                info1: 0x3F8 << 16,
                ..Default::default()
            }),
            VmExit::Privileged(Privileged::Io(0x3F8))
        );
        assert_eq!(
            decode(&RawExit {
                code: 0x60,
                ..Default::default()
            }),
            VmExit::Interrupt
        );
        assert_eq!(
            decode(&RawExit {
                code: 0x7F,
                ..Default::default()
            }),
            VmExit::TripleFault
        );
        assert!(matches!(
            decide(&decode(&RawExit {
                code: u64::MAX,
                ..Default::default()
            })),
            Action::Bug(_)
        ));
        assert_eq!(
            decode(&RawExit {
                code: 0x72,
                ..Default::default()
            }),
            VmExit::Cpuid { len: 2 }
        );
    }
}
