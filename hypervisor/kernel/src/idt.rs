//! L1's own exception handling: an IDT for vectors 0–31.
//!
//! An exception in L1 is a hypervisor bug, with two planned exceptions: #GP from
//! [`crate::cpu::rdmsr_safe`], which resumes at its fixup, and a #DB a guest left
//! pending, which is dropped; and an NMI (vector 2) is how a parked AP is woken. Anything else prints the
//! frame, a `@@RESULT fail` line and ends the run (SDM 3A §6.14 "Exception and Interrupt
//! Handling in 64-bit Mode": the CPU pushes SS, RSP, RFLAGS, CS, RIP and, for some
//! vectors, an error code, on a 16-byte aligned stack).

use core::arch::global_asm;
use spin::Once;

/// Registers saved by the stub, then what the CPU pushed.
#[repr(C)]
#[derive(Debug)]
pub struct ExceptionFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    pub vector: u64,
    pub error_code: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

// Vectors whose exceptions push an error code (SDM 3A Table 6-1): 8, 10–14, 17, 21, 29, 30.
global_asm!(
    r#"
    .section .text
    .macro ISR_NOERR n
isr_\n:
    push 0
    push \n
    jmp isr_common
    .endm
    .macro ISR_ERR n
isr_\n:
    push \n
    jmp isr_common
    .endm

    ISR_NOERR 0
    ISR_NOERR 1
    ISR_NOERR 2
    ISR_NOERR 3
    ISR_NOERR 4
    ISR_NOERR 5
    ISR_NOERR 6
    ISR_NOERR 7
    ISR_ERR 8
    ISR_NOERR 9
    ISR_ERR 10
    ISR_ERR 11
    ISR_ERR 12
    ISR_ERR 13
    ISR_ERR 14
    ISR_NOERR 15
    ISR_NOERR 16
    ISR_ERR 17
    ISR_NOERR 18
    ISR_NOERR 19
    ISR_NOERR 20
    ISR_ERR 21
    ISR_NOERR 22
    ISR_NOERR 23
    ISR_NOERR 24
    ISR_NOERR 25
    ISR_NOERR 26
    ISR_NOERR 27
    ISR_NOERR 28
    ISR_ERR 29
    ISR_ERR 30
    ISR_NOERR 31
    ISR_NOERR 32

isr_common:
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    mov rdi, rsp
    call {dispatch}
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    add rsp, 16
    iretq

    .section .rodata
    .balign 8
    .global tessera_isr_table
tessera_isr_table:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32
    .quad isr_\n
    .endr
"#,
    dispatch = sym exception_dispatch,
);

unsafe extern "C" {
    static tessera_isr_table: [u64; VECTORS];
}

/// One 64-bit interrupt-gate descriptor (SDM 3A §6.14.1, Figure 6-8).
#[repr(C, align(16))]
#[derive(Debug, Clone, Copy)]
struct Gate([u32; 4]);

impl Gate {
    fn interrupt(handler: u64, cs: u16) -> Self {
        let type_attr: u32 = 0x8E; // present, DPL 0, 64-bit interrupt gate
        Self([
            (handler as u32 & 0xFFFF) | (u32::from(cs) << 16),
            (type_attr << 8) | (handler as u32 & 0xFFFF_0000),
            (handler >> 32) as u32,
            0,
        ])
    }
}

/// Exceptions 0–31, and vector 32: the local-APIC timer (the SVM watchdog).
const VECTORS: usize = 33;

static IDT: Once<[Gate; VECTORS]> = Once::new();

/// Address of the IDT (the VMCS host IDTR base); 0 before [`init`].
pub fn base() -> u64 {
    IDT.get().map_or(0, |idt| idt.as_ptr() as u64)
}

/// Builds and loads the IDT.
pub fn init() {
    let cs = crate::cpu::read_cs();
    // SAFETY: `tessera_isr_table` is a read-only table of 32 handler addresses defined above.
    let handlers = unsafe { &tessera_isr_table };
    let idt = IDT.call_once(|| core::array::from_fn(|v| Gate::interrupt(handlers[v], cs)));
    // SAFETY: `idt` lives in a static (never moved or freed) and every gate points at a
    // stub above, which stays mapped for the kernel's lifetime.
    unsafe {
        crate::cpu::lidt(
            idt.as_ptr() as u64,
            (core::mem::size_of_val(idt) - 1) as u16,
        )
    };
}

extern "C" fn exception_dispatch(frame: &mut ExceptionFrame) {
    if frame.vector == u64::from(crate::lapic::TIMER_VECTOR) {
        crate::lapic::timer_fired();
        return;
    }
    if frame.vector == 2 {
        // An NMI: how a parked AP is woken (smp/mailbox.rs). It only counts; the
        // interrupted code reads its mailbox.
        crate::smp::on_nmi();
        return;
    }
    if frame.vector == 1 {
        // A debug trap the guest left pending (Bochs 2.7 on SVM delivers a single-step
        // trap deferred by MOV SS to L1 right after VMRUN): not L1's, and never fatal
        // (DESIGN §6 property 9). L1 itself never sets TF or a breakpoint.
        crate::cpu::clear_dr6();
        return;
    }
    if frame.vector == 13
        && let Some(fixup) = crate::cpu::rdmsr_fixup_for(frame.rip)
    {
        frame.rip = fixup;
        return;
    }
    crate::serial::force_unlock();
    crate::sprintln!(
        "L1 exception: vector {} error {:#x} at rip {:#x} (rsp {:#x}, rflags {:#x})",
        frame.vector,
        frame.error_code,
        frame.rip,
        frame.rsp,
        frame.rflags
    );
    crate::shutdown::fail(format_args!(
        "l1-exception vector={} rip={:#x} error={:#x}",
        frame.vector, frame.rip, frame.error_code
    ));
}
