//! The RFLAGS register (Intel SDM Vol. 1 §3.4.3 "EFLAGS Register", Vol. 3A §2.3; in
//! 64-bit mode bits 63:22 are reserved and read as 0).
//!
//! Guest RFLAGS crosses the backends as the raw u64 the VMCS or VMCB holds; readers
//! turn it into [`Rflags`] with [`Rflags::from_bits_retain`], so a reserved bit a CPU
//! reports is kept, not dropped.

use bitflags::bitflags;

bitflags! {
    /// The flags of RFLAGS, named as the SDM names them.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Rflags: u64 {
        /// Bit 0: carry flag (VMfailInvalid after a VMX instruction).
        const CF = 1 << 0;
        /// Bit 1: reserved, always 1.
        const RESERVED_ONE = 1 << 1;
        /// Bit 2: parity flag.
        const PF = 1 << 2;
        /// Bit 4: auxiliary carry flag.
        const AF = 1 << 4;
        /// Bit 6: zero flag (VMfailValid after a VMX instruction).
        const ZF = 1 << 6;
        /// Bit 7: sign flag.
        const SF = 1 << 7;
        /// Bit 8: trap flag (single-step).
        const TF = 1 << 8;
        /// Bit 9: interrupt enable flag.
        const IF = 1 << 9;
        /// Bit 10: direction flag.
        const DF = 1 << 10;
        /// Bit 11: overflow flag.
        const OF = 1 << 11;
        /// Bits 13:12: I/O privilege level (a 2-bit field, not a flag).
        const IOPL = 0b11 << 12;
        /// Bit 14: nested task.
        const NT = 1 << 14;
        /// Bit 16: resume flag.
        const RF = 1 << 16;
        /// Bit 17: virtual-8086 mode.
        const VM = 1 << 17;
        /// Bit 18: alignment check / access control.
        const AC = 1 << 18;
        /// Bit 19: virtual interrupt flag.
        const VIF = 1 << 19;
        /// Bit 20: virtual interrupt pending.
        const VIP = 1 << 20;
        /// Bit 21: ID flag (CPUID is supported when software can toggle it).
        const ID = 1 << 21;
    }
}

impl Rflags {
    /// `0x202`: IF and the reserved-one bit, every other flag clear. What a compartment
    /// starts with and what the gate normalises RFLAGS to before the receiver runs
    /// (docs/gates.md).
    pub const CLEAN: Self = Self::RESERVED_ONE.union(Self::IF);
}

#[cfg(test)]
mod tests {
    use super::Rflags;

    #[test]
    fn bits_are_the_architectural_ones() {
        assert_eq!(Rflags::CLEAN.bits(), 0x202);
        assert_eq!(Rflags::CF.bits() | Rflags::ZF.bits(), 0x41);
        assert_eq!(Rflags::TF.bits(), 0x100);
        assert_eq!(Rflags::IOPL.bits(), 0x3000);
        // Every named bit is in the architectural low 22 bits.
        assert_eq!(Rflags::all().bits() & !0x3F_FFFF, 0);
        assert_eq!(Rflags::all().bits(), 0x3F_7FD7);
    }

    #[test]
    fn reserved_bits_survive_from_bits_retain() {
        let raw = (1 << 40) | 0x246;
        assert_eq!(Rflags::from_bits_retain(raw).bits(), raw);
        assert_eq!(
            Rflags::from_bits_retain(raw)
                .difference(Rflags::TF | Rflags::ZF)
                .bits(),
            (1 << 40) | 0x206
        );
    }
}
