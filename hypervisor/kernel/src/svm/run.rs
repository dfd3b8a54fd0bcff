//! VMRUN with the guest's general registers swapped in, and the #VMEXIT path that swaps
//! them out (AMD APM Vol. 2 §15.5 "VMRUN Instruction", §15.6 "#VMEXIT": VMRUN saves host
//! RSP, RAX and RIP to the host save area and #VMEXIT restores them; RAX and RSP of the
//! guest live in the VMCB; other GPRs are not touched by the CPU).
//!
//! Interrupts: CLGI; STI; VMRUN — nothing (not even an NMI) reaches L1 in between; with
//! V_INTR_MASKING set, the host's IF=1 lets a physical interrupt (the watchdog timer) end
//! the guest with an INTR intercept; #VMEXIT clears GIF, so the CLI; STGI after it leaves
//! the interrupt pending for L1 to take.

use crate::regs::GuestRegs;
use core::arch::global_asm;

global_asm!(concat!(
    r#"
    .section .text
    .global tessera_svm_run
/* void tessera_svm_run(GuestRegs *regs in rdi, u64 vmcb_pa in rsi) */
tessera_svm_run:
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    push rdi
    push rsi
    mov rax, rsi
"#,
    crate::regs::load_guest_gprs!(),
    r#"
    mov rdi, [rdi + 40]
    clgi
    sti
    vmrun rax
    cli
    stgi
    push rdi
    mov rdi, [rsp + 16]
"#,
    crate::regs::store_guest_gprs!(),
    r#"
    pop rax
    mov [rdi + 40], rax
    add rsp, 8
    pop rdi
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret
"#
));

unsafe extern "sysv64" {
    fn tessera_svm_run(regs: *mut GuestRegs, vmcb: u64);
}

/// Runs the guest of `vmcb` until its next #VMEXIT. RAX is not in `regs` here: the
/// caller syncs it with the VMCB.
///
/// # Safety
/// `vmcb` must be a fully set-up VMCB owned by L1 (intercepts that confine the guest,
/// nested paging on views L1 built, a valid ASID), EFER.SVME set and VM_HSAVE_PA
/// pointing at an L1-owned page.
pub unsafe fn vmrun(regs: &mut GuestRegs, vmcb: u64) {
    // SAFETY: the caller guarantees the VMCB and SVM state; the routine saves and
    // restores every callee-saved register and returns on this stack after #VMEXIT.
    unsafe { tessera_svm_run(regs, vmcb) }
}
