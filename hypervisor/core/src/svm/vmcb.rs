//! VMCB field offsets (AMD APM Vol. 2, Appendix B "Layout of VMCB": Table B-1 control
//! area, Table B-2 state-save area at offset 0x400).

/// Control area.
pub mod control {
    /// u32: bits 15:0 intercept CR reads, 31:16 CR writes.
    pub const INTERCEPT_CR: usize = 0x000;
    /// u32: bits 15:0 DR reads, 31:16 DR writes.
    pub const INTERCEPT_DR: usize = 0x004;
    /// u32: exception vectors.
    pub const INTERCEPT_EXCEPTIONS: usize = 0x008;
    /// u32: vector 3 (INTR, NMI, ... shutdown).
    pub const INTERCEPT_MISC1: usize = 0x00C;
    /// u32: vector 4 (VMRUN, VMMCALL, ... XSETBV).
    pub const INTERCEPT_MISC2: usize = 0x010;
    /// u64: I/O permission map physical address.
    pub const IOPM_BASE_PA: usize = 0x040;
    /// u64: MSR permission map physical address.
    pub const MSRPM_BASE_PA: usize = 0x048;
    /// u32: guest ASID.
    pub const GUEST_ASID: usize = 0x058;
    /// u8: TLB control (1 = flush all on VMRUN).
    pub const TLB_CONTROL: usize = 0x05C;
    /// u64: virtual interrupt control; bit 24 V_INTR_MASKING.
    pub const V_INTR: usize = 0x060;
    /// u64: bit 0 interrupt shadow.
    pub const INTERRUPT_SHADOW: usize = 0x068;
    /// u64: exit code.
    pub const EXIT_CODE: usize = 0x070;
    /// u64: exit information 1.
    pub const EXIT_INFO1: usize = 0x078;
    /// u64: exit information 2.
    pub const EXIT_INFO2: usize = 0x080;
    /// u64: exit interrupt information.
    pub const EXIT_INT_INFO: usize = 0x088;
    /// u64: bit 0 nested paging enable.
    pub const NP_ENABLE: usize = 0x090;
    /// u64: event injection.
    pub const EVENT_INJ: usize = 0x0A8;
    /// u64: nested page table root (nCR3).
    pub const N_CR3: usize = 0x0B0;
    /// u32: VMCB clean bits.
    pub const CLEAN: usize = 0x0C0;
    /// u64: next sequential RIP (with NRIP save).
    pub const NEXT_RIP: usize = 0x0C8;
}

/// State-save area (offsets from the start of the VMCB).
pub mod state {
    /// Segment registers: 16 bytes each: selector u16, attributes u16, limit u32, base u64.
    pub const ES: usize = 0x400;
    pub const CS: usize = 0x410;
    pub const SS: usize = 0x420;
    pub const DS: usize = 0x430;
    pub const FS: usize = 0x440;
    pub const GS: usize = 0x450;
    pub const GDTR: usize = 0x460;
    pub const LDTR: usize = 0x470;
    pub const IDTR: usize = 0x480;
    pub const TR: usize = 0x490;
    /// u8.
    pub const CPL: usize = 0x4CB;
    /// u64.
    pub const EFER: usize = 0x4D0;
    pub const CR4: usize = 0x548;
    pub const CR3: usize = 0x550;
    pub const CR0: usize = 0x558;
    pub const DR7: usize = 0x560;
    pub const DR6: usize = 0x568;
    pub const RFLAGS: usize = 0x570;
    pub const RIP: usize = 0x578;
    pub const RSP: usize = 0x5D8;
    pub const RAX: usize = 0x5F8;
    pub const G_PAT: usize = 0x668;
}

/// Offsets of a segment's fields inside its 16 bytes.
pub mod segment {
    pub const SELECTOR: usize = 0;
    pub const ATTRIB: usize = 2;
    pub const LIMIT: usize = 4;
    pub const BASE: usize = 8;
}

// The layout is the hardware's: pin the offsets other code relies on, at compile time.
const _: () = assert!(state::ES == 0x400 && state::TR == state::ES + 9 * 16);
const _: () = assert!(state::RAX < 0x1000 && state::G_PAT < 0x1000);
const _: () = assert!(control::N_CR3 == 0xB0 && control::EXIT_CODE == 0x70);

/// VMCB segment attributes from a VMX-style access-rights value (type/S/DPL/P in bits
/// 7:0, AVL/L/D/G in bits 15:12 → bits 11:8; APM Vol. 2 §15.5.1 "Segment state").
pub const fn attrib_from_access_rights(ar: u32) -> u16 {
    ((ar & 0xFF) | ((ar >> 4) & 0xF00)) as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guest::access_rights;

    #[test]
    fn attributes_compress_the_descriptor_flags() {
        // 64-bit code: type B, S, P, L, G → 0xA9B.
        assert_eq!(attrib_from_access_rights(access_rights::CODE), 0xA9B);
        // Data: type 3, S, P, D/B, G → 0xC93.
        assert_eq!(attrib_from_access_rights(access_rights::DATA), 0xC93);
        assert_eq!(attrib_from_access_rights(access_rights::TSS), 0x08B);
    }
}
