//! IA32_EFER, the extended feature enable register (MSR 0xC000_0080; Intel SDM Vol. 3A
//! §2.2.1 and Vol. 4 Table 2-2, AMD APM Vol. 2 §3.1.7). The `x86` crate the kernel uses
//! names CR0 and CR4 bits but not these.

use bitflags::bitflags;

bitflags! {
    /// The bits of IA32_EFER.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Efer: u64 {
        /// Bit 0: SYSCALL/SYSRET enable.
        const SCE = 1 << 0;
        /// Bit 8: long mode enable.
        const LME = 1 << 8;
        /// Bit 10: long mode active (set by the CPU).
        const LMA = 1 << 10;
        /// Bit 11: no-execute enable (XD/NX becomes a page-table bit).
        const NXE = 1 << 11;
        /// Bit 12 (AMD): secure virtual machine enable.
        const SVME = 1 << 12;
        /// Bit 13 (AMD): long mode segment limit enable.
        const LMSLE = 1 << 13;
        /// Bit 14 (AMD): fast FXSAVE/FXRSTOR.
        const FFXSR = 1 << 14;
        /// Bit 15 (AMD): translation cache extension.
        const TCE = 1 << 15;
    }
}

impl Efer {
    /// LME and LMA: a 64-bit guest (SDM 3C "Checks on Guest Control Registers", APM
    /// §15.5.1).
    pub const LONG_MODE: Self = Self::LME.union(Self::LMA);
}

#[cfg(test)]
mod tests {
    use super::Efer;

    #[test]
    fn bits_are_the_architectural_ones() {
        assert_eq!(Efer::LONG_MODE.bits(), 0x500);
        assert_eq!(Efer::NXE.bits() | Efer::SVME.bits(), 0x1800);
    }
}
