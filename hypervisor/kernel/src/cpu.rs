//! The one home of the privileged instructions this kernel uses so far: port I/O,
//! CPUID, RDMSR (fault-tolerant), LIDT, HLT. Everything else in the kernel calls these.

use core::arch::{asm, global_asm};

/// An I/O port this kernel owns.
#[derive(Debug, Clone, Copy)]
pub struct Port(u16);

impl Port {
    /// # Safety
    /// The caller must own the device behind `port` (no other code drives it), and reads
    /// and writes to it must not be able to change memory Rust code relies on (for
    /// example, no DMA-programming registers).
    pub const unsafe fn new(port: u16) -> Self {
        Self(port)
    }

    /// `IN AL, DX`.
    pub fn read_u8(self) -> u8 {
        let value: u8;
        // SAFETY: `Port::new`'s contract makes access to this port harmless to memory safety.
        unsafe {
            asm!("in al, dx", out("al") value, in("dx") self.0, options(nomem, nostack, preserves_flags))
        };
        value
    }

    /// `OUT DX, AL`.
    pub fn write_u8(self, value: u8) {
        // SAFETY: `Port::new`'s contract makes access to this port harmless to memory safety.
        unsafe {
            asm!("out dx, al", in("dx") self.0, in("al") value, options(nomem, nostack, preserves_flags))
        };
    }
}

/// `CPUID` with a subleaf: `[eax, ebx, ecx, edx]`.
pub fn cpuid(leaf: u32, subleaf: u32) -> [u32; 4] {
    let r = core::arch::x86_64::__cpuid_count(leaf, subleaf);
    [r.eax, r.ebx, r.ecx, r.edx]
}

/// RDMSR raised #GP: the MSR does not exist on this CPU (or is not readable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MsrFault;

global_asm!(
    r#"
    .section .text
    .global tessera_rdmsr_safe
    .global tessera_rdmsr_insn
    .global tessera_rdmsr_fixup
/* u32 tessera_rdmsr_safe(u32 index in edi, u64 *out in rsi): 0 = read, 1 = #GP */
tessera_rdmsr_safe:
    mov ecx, edi
tessera_rdmsr_insn:
    rdmsr
    shl rdx, 32
    or rax, rdx
    mov [rsi], rax
    xor eax, eax
    ret
/* The #GP handler resumes here when RIP was tessera_rdmsr_insn. */
tessera_rdmsr_fixup:
    mov eax, 1
    ret
"#
);

unsafe extern "sysv64" {
    fn tessera_rdmsr_safe(index: u32, out: *mut u64) -> u32;
    static tessera_rdmsr_insn: u8;
    static tessera_rdmsr_fixup: u8;
}

/// Reads an MSR; a #GP (MSR absent) becomes `Err(MsrFault)` instead of a crash.
///
/// Requires the IDT from [`crate::idt`] to be loaded: its #GP handler recognises the
/// faulting RIP and resumes at the fixup (SDM 2B RDMSR: "#GP(0) if ECX specifies a
/// reserved or unimplemented MSR address").
pub fn rdmsr_safe(index: u32) -> Result<u64, MsrFault> {
    let mut value = 0u64;
    // SAFETY: the routine only executes RDMSR (which at worst raises #GP, handled by the
    // fixup) and writes 8 bytes to `value`, a valid local.
    let status = unsafe { tessera_rdmsr_safe(index, &mut value) };
    if status == 0 {
        Ok(value)
    } else {
        Err(MsrFault)
    }
}

/// If `rip` is the RDMSR of [`rdmsr_safe`], where to resume after a #GP.
pub fn rdmsr_fixup_for(rip: u64) -> Option<u64> {
    let insn = (&raw const tessera_rdmsr_insn) as u64;
    let fixup = (&raw const tessera_rdmsr_fixup) as u64;
    (rip == insn).then_some(fixup)
}

/// Loads the IDT register.
///
/// # Safety
/// `base` must point to `limit + 1` bytes of valid gate descriptors whose handlers stay
/// mapped and valid for as long as the IDT is loaded.
pub unsafe fn lidt(base: u64, limit: u16) {
    #[repr(C, packed)]
    struct Pointer {
        limit: u16,
        base: u64,
    }
    let ptr = Pointer { limit, base };
    // SAFETY: the caller guarantees the table; `ptr` is a valid descriptor-table pointer.
    unsafe { asm!("lidt [{}]", in(reg) &ptr, options(readonly, nostack, preserves_flags)) };
}

/// Reads the code-segment selector.
pub fn read_cs() -> u16 {
    let cs: u16;
    // SAFETY: reading CS has no side effects.
    unsafe { asm!("mov {0:x}, cs", out(reg) cs, options(nomem, nostack, preserves_flags)) };
    cs
}

/// Stops this CPU for good (interrupts off, HLT in a loop).
pub fn halt_forever() -> ! {
    loop {
        // SAFETY: CLI; HLT only stops the CPU; nothing runs after this.
        unsafe { asm!("cli; hlt", options(nomem, nostack)) };
    }
}

/// Sleeps until an NMI (interrupts off: `CLI; HLT`); returns once its handler has run.
pub fn halt_until_nmi() {
    // SAFETY: CLI; HLT only stops the CPU until the next NMI (or SMI), whose handler
    // returns here.
    unsafe { asm!("cli; hlt", options(nomem, nostack)) };
}

/// Bochs' "magic breakpoint" (`xchg bx, bx`): with `magic_break: enabled=1` Bochs stops in
/// its debugger, whose command file then quits. A no-op everywhere else.
pub fn bochs_magic_break() {
    // SAFETY: exchanging BX with itself changes no state.
    unsafe { asm!("xchg bx, bx", options(nomem, nostack, preserves_flags)) };
}

/// Control registers L1 reads and adjusts (VMX fixed bits).
#[derive(Debug, Clone, Copy)]
pub enum Cr {
    Cr0,
    Cr4,
}

/// Reads CR0 or CR4.
pub fn read_cr(cr: Cr) -> u64 {
    let value: u64;
    match cr {
        // SAFETY: reading a control register has no side effects at CPL 0.
        Cr::Cr0 => unsafe {
            asm!("mov {}, cr0", out(reg) value, options(nomem, nostack, preserves_flags))
        },
        // SAFETY: as above.
        Cr::Cr4 => unsafe {
            asm!("mov {}, cr4", out(reg) value, options(nomem, nostack, preserves_flags))
        },
    }
    value
}

/// Writes CR0 or CR4.
///
/// # Safety
/// The new value must keep paging, protection and the current address space exactly as
/// Rust code relies on (only bits such as CR4.VMXE or CR0.NE may change).
pub unsafe fn write_cr(cr: Cr, value: u64) {
    match cr {
        // SAFETY: the caller guarantees the change keeps memory safety.
        Cr::Cr0 => unsafe { asm!("mov cr0, {}", in(reg) value, options(nostack, preserves_flags)) },
        // SAFETY: as above.
        Cr::Cr4 => unsafe { asm!("mov cr4, {}", in(reg) value, options(nostack, preserves_flags)) },
    }
}

/// `WRMSR`.
///
/// # Safety
/// The MSR must exist and the value must not change anything Rust code relies on
/// (address space, segment bases in use, EFER.LME/LMA).
pub unsafe fn wrmsr(index: u32, value: u64) {
    // SAFETY: the caller guarantees the write is harmless to memory safety.
    unsafe {
        asm!("wrmsr", in("ecx") index, in("eax") value as u32, in("edx") (value >> 32) as u32, options(nostack, preserves_flags))
    };
}

/// Reads CR3 (the VMCS host CR3).
pub fn read_cr3() -> u64 {
    let value: u64;
    // SAFETY: reading CR3 has no side effects at CPL 0.
    unsafe { asm!("mov {}, cr3", out(reg) value, options(nomem, nostack, preserves_flags)) };
    value
}

/// Opens an interrupt window of one instruction (`STI; NOP; CLI`) so that an interrupt
/// held pending while a guest ran is taken by the IDT now.
pub fn interrupt_window() {
    // SAFETY: the IDT handles every vector that can be pending (the PICs are masked; the
    // local-APIC timer has its handler); interrupts are off again afterwards.
    unsafe { asm!("sti", "nop", "cli", options(nomem, nostack)) };
}

/// `RDTSC` (the watchdog calibration).
pub fn rdtsc() -> u64 {
    let lo: u32;
    let hi: u32;
    // SAFETY: RDTSC only reads the time-stamp counter (CR4.TSD is clear in L1).
    unsafe {
        asm!("rdtsc", out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags))
    };
    (u64::from(hi) << 32) | u64::from(lo)
}

/// Resets DR6 to its architectural value (no debug condition recorded).
pub fn clear_dr6() {
    // SAFETY: DR6 only records debug conditions; L1 uses no breakpoints.
    unsafe {
        asm!("mov dr6, {}", in(reg) 0xFFFF_0FF0u64, options(nomem, nostack, preserves_flags))
    };
}

/// Zeroes FS.base, GS.base and IA32_KERNEL_GS_BASE. Guests may execute SWAPGS (it does
/// not exit) and load FS/GS selectors, and on SVM they run with L1's live values of these
/// (VMRUN loads them only with VMLOAD, which L1 does not use): with all of them 0 they can
/// carry nothing from one compartment to another.
pub fn zero_segment_bases() {
    for msr in [0xC000_0100u32, 0xC000_0101, 0xC000_0102] {
        // SAFETY: L1 uses neither FS nor GS; these MSRs exist on every x86-64 CPU.
        unsafe { wrmsr(msr, 0) };
    }
}
