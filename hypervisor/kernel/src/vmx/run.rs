//! Entering the guest and coming back: VMLAUNCH/VMRESUME with the guest's general
//! registers swapped in, and the exit landing that swaps them out (SDM 3C §27 "VM
//! Exits": the CPU loads RSP and RIP from the host-state area; GPRs other than RSP are
//! not saved or loaded by the CPU).

use super::instr::{VmFail, vmread};
use crate::regs::GuestRegs;
use core::arch::global_asm;
use tessera_core::vmx::fields;

global_asm!(
    concat!(
    r#"
    .section .text
    .global tessera_vmx_run
/* u64 tessera_vmx_run(GuestRegs *regs in rdi, u64 launched in rsi): 0 = VM exit, 1 = VMfail */
tessera_vmx_run:
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    push rdi
    mov rax, {host_rsp}
    vmwrite rax, rsp
    mov rax, {host_rip}
    lea rdx, [rip + tessera_vmx_exit]
    vmwrite rax, rdx
    test rsi, rsi
    mov rax, [rdi + 0]
"#,
    crate::regs::load_guest_gprs!(),
    r#"
    mov rdi, [rdi + 40]
    jnz 2f
    vmlaunch
    jmp 3f
2:  vmresume
3:  pop rdi
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    mov eax, 1
    ret

tessera_vmx_exit:
    push rdi
    mov rdi, [rsp + 8]
    mov [rdi + 0], rax
"#,
    crate::regs::store_guest_gprs!(),
    r#"
    pop rax
    mov [rdi + 40], rax
    pop rdi
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    xor eax, eax
    ret
"#
    ),
    host_rsp = const fields::HOST_RSP,
    host_rip = const fields::HOST_RIP,
);

unsafe extern "sysv64" {
    fn tessera_vmx_run(regs: *mut GuestRegs, launched: u64) -> u64;
}

/// Runs the guest of the current VMCS until its next VM exit.
///
/// # Safety
/// The current VMCS must be fully set up: host state describing this kernel (CR3, GDT,
/// IDT, TR, segments), and guest state, EPT pointer and controls that confine the guest
/// to memory L1 gave it. `launched` must say whether this VMCS was launched since its
/// last VMCLEAR.
pub unsafe fn enter(regs: &mut GuestRegs, launched: bool) -> Result<(), VmFail> {
    // SAFETY: the caller guarantees the VMCS; the routine saves and restores every
    // callee-saved register and returns on this stack both after a VM exit (via the
    // host RSP/RIP it writes) and after a VMfail.
    let status = unsafe { tessera_vmx_run(regs, u64::from(launched)) };
    if status == 0 {
        return Ok(());
    }
    match vmread(fields::VM_INSTRUCTION_ERROR) {
        Ok(error) => Err(VmFail::Valid(error as u32)),
        Err(_) => Err(VmFail::Invalid),
    }
}
