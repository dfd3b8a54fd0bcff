//! The common gate code (docs/gates.md): guest code that L1 copies into the gate region
//! at `tessera_abi::gate::CODE`, shared read-execute by every view. It is assembled here
//! but never runs in L1. Position-independent except for the fixed guest-physical
//! addresses of the gate region, which are immediates.
//!
//! Registers across a switch: R11 = source view (set by the landing pad), R12 = op,
//! RBX = export index (CALL) or status (RETURN), R13 = result (RETURN), RDI, RSI, RDX,
//! R10, R8, R9 = arguments (CALL). EAX = 0 and ECX = target view for `VMFUNC`.
//!
//! Nothing before the stack switch touches memory through RSP: at `gate_land` RSP still
//! holds the source's value, which means nothing (or something hostile) in this view.

use core::arch::global_asm;
use tessera_abi::gate::{self, info, op, state, status, violation};
use tessera_abi::hypercall;

global_asm!(
    r#"
    .section .rodata.tessera_gate, "a"
    .balign 16
    .global tessera_gate_start
tessera_gate_start:

/* ---- gate_call (offset 0): a compartment calls `call rcx` with RCX = CODE. ---- */
gate_call:
    push rbx
    push rbp
    push r12
    push r13
    push r14
    push r15
    mov r15, {info}
    cmp r11, [r15 + {i_views}]
    jae 8f                              /* no such view: NO_SUCH_EXPORT without switching */
    mov r14, {state}
    mov r13, [r14 + {s_depth}]
    cmp r13, {max_frames}
    jae 9f
    mov r12, r13
    shl r12, 5
    lea r12, [r14 + r12 + {s_frames}]
    mov qword ptr [r12], {out}
    mov [r12 + 8], r11
    mov [r12 + 16], rsp
    inc r13
    mov [r14 + {s_depth}], r13
    inc qword ptr [r14 + {s_calls_out}]
    mov rbx, rax                        /* export index */
    mov r12, {op_call}
    mov ecx, r11d                       /* target view */
    mov r15, [r15 + {i_slot}]           /* own slot: VMFUNC in this view's copy */
    xor eax, eax
    xor ebp, ebp
    xor r11d, r11d
    xor r13d, r13d
    xor r14d, r14d
    jmp r15
8:  mov edx, {st_no_export}
    jmp 7f
9:  mov edx, {st_too_deep}
7:  xor eax, eax
    xor ecx, ecx
    xor esi, esi
    xor edi, edi
    xor r8d, r8d
    xor r9d, r9d
    xor r10d, r10d
    xor r11d, r11d
    .global tessera_gate_epilogue
tessera_gate_epilogue:                  /* also where L1 resumes a caller whose callee failed */
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbp
    pop rbx
    ret

/* ---- gate_land: every landing pad jumps here with R11 = source view. ---- */
    .global tessera_gate_land
tessera_gate_land:
    mov r14, {state}
    mov r15, {info}
    cmp r12, {op_return}
    je 20f
    cmp r12, {op_call}
    jne 29f

    /* incoming CALL from R11, export RBX */
    cmp qword ptr [r15 + {i_failed}], 0
    jne 11f
    bt qword ptr [r15 + {i_callers}], r11
    jnc 12f
    cmp rbx, [r15 + {i_export_count}]
    jae 13f
    mov r13, [r14 + {s_depth}]
    cmp r13, {max_frames}
    jae 14f
    test r13, r13
    jz 15f
    mov r12, r13                        /* busy: below the waiting frame's stack */
    dec r12
    shl r12, 5
    mov rsp, [r14 + r12 + {s_frames} + 16]
    sub rsp, 128
    jmp 16f
15: mov rsp, [r15 + {i_stack_top}]      /* idle: the view's own stack */
16: and rsp, -16
    mov r12, r13
    shl r12, 5
    lea r12, [r14 + r12 + {s_frames}]
    mov qword ptr [r12], {in_}
    mov [r12 + 8], r11
    mov [r12 + 16], rsp
    inc r13
    mov [r14 + {s_depth}], r13
    inc qword ptr [r14 + {s_calls_in}]
    push r11
    sub rsp, 8
    mov rax, [r15 + {i_exports} + rbx * 8]
    mov rcx, r10
    xor ebx, ebx
    xor ebp, ebp
    xor r10d, r10d
    xor r11d, r11d
    xor r12d, r12d
    xor r13d, r13d
    xor r14d, r14d
    xor r15d, r15d
    call rax
    add rsp, 8
    pop r11
    mov r14, {state}
    mov r13, [r14 + {s_depth}]
    test r13, r13
    jz 28f
    dec r13
    mov r12, r13
    shl r12, 5
    lea r12, [r14 + r12 + {s_frames}]
    cmp qword ptr [r12], {in_}
    jne 28f
    cmp [r12 + 8], r11
    jne 28f
    mov [r14 + {s_depth}], r13
    mov r13, rax                        /* result */
    xor ebx, ebx                        /* status OK */
    jmp 18f
11: mov ebx, {st_failed}
    jmp 17f
12: mov ebx, {st_not_permitted}
    jmp 17f
13: mov ebx, {st_no_export}
    jmp 17f
14: mov ebx, {st_too_deep}
17: xor r13d, r13d
18: mov r12, {op_return}                /* switch back to R11 through our own slot */
    mov ecx, r11d
    mov r15, {info}
    mov r15, [r15 + {i_slot}]
    xor eax, eax
    xor edx, edx
    xor esi, esi
    xor edi, edi
    xor ebp, ebp
    xor r8d, r8d
    xor r9d, r9d
    xor r10d, r10d
    xor r11d, r11d
    xor r14d, r14d
    jmp r15

    /* RETURN from R11: result R13, status RBX */
20: mov rdx, [r14 + {s_depth}]
    test rdx, rdx
    jz 27f
    dec rdx
    mov rdi, rdx
    shl rdi, 5
    lea rdi, [r14 + rdi + {s_frames}]
    cmp qword ptr [rdi], {out}
    jne 27f
    cmp [rdi + 8], r11
    jne 27f
    mov [r14 + {s_depth}], rdx
    mov rsp, [rdi + 16]
    mov rax, r13
    mov rdx, rbx
    /* No scrub here: the callee's gate scrubbed everything it sent but the result and
       status; a callee that bypasses its gate can only leak its own registers. */
    jmp tessera_gate_epilogue

27: mov esi, {v_return}
    jmp 30f
28: mov esi, {v_corrupt}
    mov r11, {info}
    mov r11, [r11 + {i_view}]           /* the culprit is this view itself */
    jmp 30f
29: mov esi, {v_bad_op}
30: mov rdi, r11
    mov eax, {hc_violation}
    vmcall
    ud2

    .global tessera_gate_end
tessera_gate_end:
    .text
"#,
    info = const gate::INFO,
    state = const gate::STATE,
    i_view = const info::VIEW,
    i_slot = const info::SLOT_ADDR,
    i_views = const info::VIEWS,
    i_stack_top = const info::STACK_TOP,
    i_failed = const info::FAILED,
    i_export_count = const info::EXPORT_COUNT,
    i_callers = const info::CALLERS,
    i_exports = const info::EXPORTS,
    s_depth = const state::DEPTH,
    s_calls_out = const state::CALLS_OUT,
    s_calls_in = const state::CALLS_IN,
    s_frames = const state::FRAMES,
    max_frames = const state::MAX_FRAMES,
    out = const state::OUT,
    in_ = const state::IN,
    op_call = const op::CALL,
    op_return = const op::RETURN,
    st_no_export = const status::NO_SUCH_EXPORT,
    st_too_deep = const status::TOO_DEEP,
    st_failed = const status::CALLEE_FAILED,
    st_not_permitted = const status::NOT_PERMITTED,
    v_return = const violation::RETURN_WITHOUT_CALL,
    v_corrupt = const violation::CORRUPT_STATE,
    v_bad_op = const violation::BAD_OP,
    hc_violation = const hypercall::GATE_VIOLATION,
);

unsafe extern "C" {
    static tessera_gate_start: u8;
    static tessera_gate_end: u8;
    static tessera_gate_land: u8;
    static tessera_gate_epilogue: u8;
}

/// The assembled common gate code.
pub fn code() -> &'static [u8] {
    let start = (&raw const tessera_gate_start) as usize;
    let end = (&raw const tessera_gate_end) as usize;
    // SAFETY: both symbols delimit the read-only section assembled above, in this image.
    unsafe { core::slice::from_raw_parts(start as *const u8, end - start) }
}

/// Offset of `gate_land` in [`code`].
pub fn land_offset() -> u64 {
    (&raw const tessera_gate_land) as u64 - (&raw const tessera_gate_start) as u64
}

/// Offset of the epilogue that returns to a caller, in [`code`].
pub fn epilogue_offset() -> u64 {
    (&raw const tessera_gate_epilogue) as u64 - (&raw const tessera_gate_start) as u64
}
