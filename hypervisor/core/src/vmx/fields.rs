//! VMCS field encodings (Intel SDM Vol. 3D Appendix B "Field Encoding in VMCS").
//!
//! Bits 14:13 of an encoding give the width (0 = 16-bit, 1 = 64-bit, 2 = 32-bit,
//! 3 = natural), bits 11:10 the type (0 control, 1 read-only data, 2 guest, 3 host).

#![allow(missing_docs)]

// 16-bit control fields (B.1.1).
pub const VPID: u32 = 0x0000;
pub const EPTP_INDEX: u32 = 0x0004;
// 16-bit guest-state fields (B.1.2).
pub const GUEST_ES_SELECTOR: u32 = 0x0800;
pub const GUEST_CS_SELECTOR: u32 = 0x0802;
pub const GUEST_SS_SELECTOR: u32 = 0x0804;
pub const GUEST_DS_SELECTOR: u32 = 0x0806;
pub const GUEST_FS_SELECTOR: u32 = 0x0808;
pub const GUEST_GS_SELECTOR: u32 = 0x080A;
pub const GUEST_LDTR_SELECTOR: u32 = 0x080C;
pub const GUEST_TR_SELECTOR: u32 = 0x080E;
// 16-bit host-state fields (B.1.3).
pub const HOST_ES_SELECTOR: u32 = 0x0C00;
pub const HOST_CS_SELECTOR: u32 = 0x0C02;
pub const HOST_SS_SELECTOR: u32 = 0x0C04;
pub const HOST_DS_SELECTOR: u32 = 0x0C06;
pub const HOST_FS_SELECTOR: u32 = 0x0C08;
pub const HOST_GS_SELECTOR: u32 = 0x0C0A;
pub const HOST_TR_SELECTOR: u32 = 0x0C0C;

// 64-bit control fields (B.2.1).
pub const IO_BITMAP_A: u32 = 0x2000;
pub const IO_BITMAP_B: u32 = 0x2002;
pub const MSR_BITMAP: u32 = 0x2004;
pub const VM_FUNCTION_CONTROLS: u32 = 0x2018;
pub const EPT_POINTER: u32 = 0x201A;
pub const EPTP_LIST_ADDRESS: u32 = 0x2024;
// 64-bit read-only data field (B.2.2).
pub const GUEST_PHYSICAL_ADDRESS: u32 = 0x2400;
// 64-bit guest-state fields (B.2.3).
pub const VMCS_LINK_POINTER: u32 = 0x2800;
pub const GUEST_IA32_DEBUGCTL: u32 = 0x2802;
pub const GUEST_IA32_PAT: u32 = 0x2804;
pub const GUEST_IA32_EFER: u32 = 0x2806;
// 64-bit host-state fields (B.2.4).
pub const HOST_IA32_PAT: u32 = 0x2C00;
pub const HOST_IA32_EFER: u32 = 0x2C02;

// 32-bit control fields (B.3.1).
pub const PIN_BASED_CONTROLS: u32 = 0x4000;
pub const PRIMARY_PROC_CONTROLS: u32 = 0x4002;
pub const EXCEPTION_BITMAP: u32 = 0x4004;
pub const PAGE_FAULT_ERROR_MASK: u32 = 0x4006;
pub const PAGE_FAULT_ERROR_MATCH: u32 = 0x4008;
pub const CR3_TARGET_COUNT: u32 = 0x400A;
pub const EXIT_CONTROLS: u32 = 0x400C;
pub const EXIT_MSR_STORE_COUNT: u32 = 0x400E;
pub const EXIT_MSR_LOAD_COUNT: u32 = 0x4010;
pub const ENTRY_CONTROLS: u32 = 0x4012;
pub const ENTRY_MSR_LOAD_COUNT: u32 = 0x4014;
pub const ENTRY_INTERRUPTION_INFO: u32 = 0x4016;
pub const ENTRY_EXCEPTION_ERROR_CODE: u32 = 0x4018;
pub const ENTRY_INSTRUCTION_LENGTH: u32 = 0x401A;
pub const SECONDARY_PROC_CONTROLS: u32 = 0x401E;
// 32-bit read-only data fields (B.3.2).
pub const VM_INSTRUCTION_ERROR: u32 = 0x4400;
pub const EXIT_REASON: u32 = 0x4402;
pub const EXIT_INTERRUPTION_INFO: u32 = 0x4404;
pub const EXIT_INTERRUPTION_ERROR_CODE: u32 = 0x4406;
pub const IDT_VECTORING_INFO: u32 = 0x4408;
pub const IDT_VECTORING_ERROR_CODE: u32 = 0x440A;
pub const EXIT_INSTRUCTION_LENGTH: u32 = 0x440C;
pub const EXIT_INSTRUCTION_INFO: u32 = 0x440E;
// 32-bit guest-state fields (B.3.3).
pub const GUEST_ES_LIMIT: u32 = 0x4800;
pub const GUEST_CS_LIMIT: u32 = 0x4802;
pub const GUEST_SS_LIMIT: u32 = 0x4804;
pub const GUEST_DS_LIMIT: u32 = 0x4806;
pub const GUEST_FS_LIMIT: u32 = 0x4808;
pub const GUEST_GS_LIMIT: u32 = 0x480A;
pub const GUEST_LDTR_LIMIT: u32 = 0x480C;
pub const GUEST_TR_LIMIT: u32 = 0x480E;
pub const GUEST_GDTR_LIMIT: u32 = 0x4810;
pub const GUEST_IDTR_LIMIT: u32 = 0x4812;
pub const GUEST_ES_ACCESS_RIGHTS: u32 = 0x4814;
pub const GUEST_CS_ACCESS_RIGHTS: u32 = 0x4816;
pub const GUEST_SS_ACCESS_RIGHTS: u32 = 0x4818;
pub const GUEST_DS_ACCESS_RIGHTS: u32 = 0x481A;
pub const GUEST_FS_ACCESS_RIGHTS: u32 = 0x481C;
pub const GUEST_GS_ACCESS_RIGHTS: u32 = 0x481E;
pub const GUEST_LDTR_ACCESS_RIGHTS: u32 = 0x4820;
pub const GUEST_TR_ACCESS_RIGHTS: u32 = 0x4822;
pub const GUEST_INTERRUPTIBILITY: u32 = 0x4824;
pub const GUEST_ACTIVITY_STATE: u32 = 0x4826;
pub const GUEST_SYSENTER_CS: u32 = 0x482A;
pub const PREEMPTION_TIMER_VALUE: u32 = 0x482E;
// 32-bit host-state field (B.3.4).
pub const HOST_SYSENTER_CS: u32 = 0x4C00;

// Natural-width control fields (B.4.1).
pub const CR0_GUEST_HOST_MASK: u32 = 0x6000;
pub const CR4_GUEST_HOST_MASK: u32 = 0x6002;
pub const CR0_READ_SHADOW: u32 = 0x6004;
pub const CR4_READ_SHADOW: u32 = 0x6006;
// Natural-width read-only data fields (B.4.2).
pub const EXIT_QUALIFICATION: u32 = 0x6400;
pub const GUEST_LINEAR_ADDRESS: u32 = 0x640A;
// Natural-width guest-state fields (B.4.3).
pub const GUEST_CR0: u32 = 0x6800;
pub const GUEST_CR3: u32 = 0x6802;
pub const GUEST_CR4: u32 = 0x6804;
pub const GUEST_ES_BASE: u32 = 0x6806;
pub const GUEST_CS_BASE: u32 = 0x6808;
pub const GUEST_SS_BASE: u32 = 0x680A;
pub const GUEST_DS_BASE: u32 = 0x680C;
pub const GUEST_FS_BASE: u32 = 0x680E;
pub const GUEST_GS_BASE: u32 = 0x6810;
pub const GUEST_LDTR_BASE: u32 = 0x6812;
pub const GUEST_TR_BASE: u32 = 0x6814;
pub const GUEST_GDTR_BASE: u32 = 0x6816;
pub const GUEST_IDTR_BASE: u32 = 0x6818;
pub const GUEST_DR7: u32 = 0x681A;
pub const GUEST_RSP: u32 = 0x681C;
pub const GUEST_RIP: u32 = 0x681E;
pub const GUEST_RFLAGS: u32 = 0x6820;
pub const GUEST_PENDING_DEBUG: u32 = 0x6822;
pub const GUEST_SYSENTER_ESP: u32 = 0x6824;
pub const GUEST_SYSENTER_EIP: u32 = 0x6826;
// Natural-width host-state fields (B.4.4).
pub const HOST_CR0: u32 = 0x6C00;
pub const HOST_CR3: u32 = 0x6C02;
pub const HOST_CR4: u32 = 0x6C04;
pub const HOST_FS_BASE: u32 = 0x6C06;
pub const HOST_GS_BASE: u32 = 0x6C08;
pub const HOST_TR_BASE: u32 = 0x6C0A;
pub const HOST_GDTR_BASE: u32 = 0x6C0C;
pub const HOST_IDTR_BASE: u32 = 0x6C0E;
pub const HOST_SYSENTER_ESP: u32 = 0x6C10;
pub const HOST_SYSENTER_EIP: u32 = 0x6C12;
pub const HOST_RSP: u32 = 0x6C14;
pub const HOST_RIP: u32 = 0x6C16;

/// Width of a field, from bits 14:13 of its encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    Bits16,
    Bits64,
    Bits32,
    Natural,
}

/// The width bits 14:13 of `encoding` name.
pub fn width(encoding: u32) -> Width {
    match (encoding >> 13) & 3 {
        0 => Width::Bits16,
        1 => Width::Bits64,
        2 => Width::Bits32,
        _ => Width::Natural,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_follow_the_encoding_scheme() {
        assert_eq!(width(GUEST_CS_SELECTOR), Width::Bits16);
        assert_eq!(width(EPT_POINTER), Width::Bits64);
        assert_eq!(width(EXIT_REASON), Width::Bits32);
        assert_eq!(width(GUEST_RIP), Width::Natural);
        // Host fields have type 3 (bits 11:10); guest fields type 2.
        assert_eq!((HOST_RIP >> 10) & 3, 3);
        assert_eq!((GUEST_RIP >> 10) & 3, 2);
        assert_eq!((EXIT_REASON >> 10) & 3, 1);
    }
}
