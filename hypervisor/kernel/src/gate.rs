//! The common gate code (docs/gates.md): guest code that L1 copies into the gate region
//! at `tessera_abi::gate::CODE`, shared read-execute by every view. It is assembled here
//! but never runs in L1. Every address in it is an absolute guest-physical address of the
//! gate region (the info and state pages, the own slot), so it needs no base register.
//!
//! A message (R11 = source from the landing pad, R12 = op, RBX = export or status, R13 =
//! result, R14 = the caller's OUT frame index, RDI, RSI, RDX, R10, R8, R9 = arguments) is
//! judged by the *receiving* gate (`gate_land`) exactly as `tessera_core::protocol::receive`
//! models it. The receiving gate zeroes every register that is not part of the message and
//! normalises RFLAGS (0x202), DS/ES/FS/GS/SS and CR2 before any code of the receiver runs,
//! so nothing but arguments and results crosses (DESIGN §6 property 7). x87/MMX/SSE state
//! cannot cross at all: guests run with CR0.EM = 1.
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

/* Segments and CR2 as every compartment starts with them. CR2 is only written if a
   compartment changed it (MOV to CR2 is serialising); it clobbers RCX. RFLAGS comes last,
   right before the receiver's code: `push 0x202; popfq`, after every flag-writing xor. */
.macro NORMALISE
    mov ecx, {data_sel}
    mov ds, ecx
    mov es, ecx
    mov fs, ecx
    mov gs, ecx
    mov ss, ecx
    mov rcx, cr2
    test rcx, rcx
    jz 1f
    xor ecx, ecx
    mov cr2, rcx
1:
.endm

/* ---- gate_call (offset 0): a compartment calls `call rcx` with RCX = CODE. ---- */
gate_call:
    push rbx
    push rbp
    push r12
    push r13
    push r14
    push r15
    cmp r11, qword ptr [{views}]
    jae 8f                              /* no such view: NO_SUCH_EXPORT, no switch */
    mov r14, qword ptr [{depth}]        /* our OUT frame's index, sent with the call */
    lea rcx, [r11 * 4 + {out}]
    mov qword ptr [{tags} + r14 * 8], rcx
    mov qword ptr [{rsps} + r14 * 8], rsp
    lea r12, [r14 + 1]
    mov qword ptr [{depth}], r12
    inc qword ptr [{calls_out}]
    mov rbx, rax                        /* export index */
    mov r12d, {op_call}
    mov ecx, r11d                       /* target view */
    xor eax, eax
    jmp qword ptr [{slot}]
8:  xor eax, eax
    mov edx, {st_no_export}
    jmp 9f

/* ---- gate_land: every landing pad jumps here with R11 = source view. ---- */
    .global tessera_gate_land
tessera_gate_land:
    cmp qword ptr [{failed}], 0
    jne 40f
    cmp r12, {op_call}
    jne 20f

    /* CALL from R11, export RBX. The export index and the caller check are masked into
       the address so that no mispredicted branch calls anything (Spectre v1). */
    bt qword ptr [{callers}], r11
    sbb rcx, rcx
    jnc 31f
    cmp rbx, qword ptr [{export_count}]
    jae 32f
    sbb rax, rax
    and rax, rcx
    and rbx, rax
    and rax, qword ptr [{exports} + rbx * 8]
    jz 32f                              /* declared, not registered yet */
    mov r13, qword ptr [{active}]
    cmp r13, qword ptr [{max_depth}]
    jae 33f
    mov r12, qword ptr [{depth}]
    mov rsp, qword ptr [{stack_top}]    /* idle: the view's own stack; busy: below the */
    test r12, r12                       /* frame it waits in */
    cmovnz rsp, qword ptr [{rsps} - 8 + r12 * 8]
    sub rsp, 128
    and rsp, -16
    shl r14, {at_shift}
    lea rcx, [r14 + r11 * 4 + {in_}]    /* IN frame: source and its OUT frame's index */
    mov qword ptr [{tags} + r12 * 8], rcx
    mov qword ptr [{rsps} + r12 * 8], rsp
    inc r12
    mov qword ptr [{depth}], r12
    inc r13
    mov qword ptr [{active}], r13
    inc qword ptr [{calls_in}]
    push r11
    push rcx
    NORMALISE
    mov rcx, r10
    xor ebx, ebx
    xor ebp, ebp
    xor r10d, r10d
    xor r11d, r11d
    xor r12d, r12d
    xor r13d, r13d
    xor r14d, r14d
    xor r15d, r15d
    push 0x202
    popfq
    call rax
    pop rcx
    pop r11
    mov r12, qword ptr [{depth}]
    cmp rcx, qword ptr [{tags} - 8 + r12 * 8]
    jne 50f                             /* our own frame is not where we left it */
    dec r12
    mov qword ptr [{depth}], r12
    dec qword ptr [{active}]
    mov r13, rax                        /* result */
    xor ebx, ebx                        /* status OK */
    mov r12d, {op_return}
    jmp 39f

    /* RETURN (result R13, status RBX) or REFUSE (status RBX) from R11: it must answer
       our top frame, a call to R11 (with no frame the sentinel, 0, matches nothing). */
20: lea rcx, [r12 - {op_return}]
    cmp rcx, 1
    ja 34f                              /* an unknown op: refused */
    mov rdx, qword ptr [{depth}]
    lea rcx, [r11 * 4 + {out}]
    cmp rcx, qword ptr [{tags} - 8 + rdx * 8]
    jne 25f
    dec rdx
    mov qword ptr [{depth}], rdx
    mov rsp, qword ptr [{rsps} + rdx * 8]
    mov rax, r13
    mov rdx, rbx
    .global tessera_gate_resume
tessera_gate_resume:                    /* L1 also resumes a waiting caller here */
    NORMALISE
    xor ecx, ecx
    xor esi, esi
    xor edi, edi
    xor r8d, r8d
    xor r9d, r9d
    xor r10d, r10d
    xor r11d, r11d
    push 0x202
    popfq
9:  pop r15
    pop r14
    pop r13
    pop r12
    pop rbp
    pop rbx
    ret
25: cmp r12, {op_refuse}
    je 45f                              /* a refusal is never refused: stray */
34: mov ebx, {st_refused}
    jmp 38f
31: mov ebx, {st_not_permitted}
    jmp 38f
32: mov ebx, {st_no_export}
    jmp 38f
33: mov ebx, {st_too_deep}
    jmp 38f
41: mov rbx, qword ptr [{failed}]      /* the status L1 refuses calls with */
38: mov r12d, {op_refuse}
    xor r13d, r13d
39: mov ecx, r11d                       /* back to the source, through our own slot */
    xor eax, eax
    jmp qword ptr [{slot}]

    /* A stopped compartment runs nothing: calls are refused, anything else is L1's. */
40: cmp r12, {op_call}
    je 41b
45: mov esi, {v_stray}
    jmp 46f
50: mov esi, {v_corrupt}
46: mov eax, {hc_violation}
    vmcall
    ud2

    .global tessera_gate_end
tessera_gate_end:
    .text
"#,
    data_sel = const tessera_core::guest::DATA_SELECTOR,
    views = const gate::INFO + info::VIEWS,
    slot = const gate::INFO + info::SLOT_ADDR,
    failed = const gate::INFO + info::FAILED,
    callers = const gate::INFO + info::CALLERS,
    export_count = const gate::INFO + info::EXPORT_COUNT,
    exports = const gate::INFO + info::EXPORTS,
    max_depth = const gate::INFO + info::MAX_DEPTH,
    stack_top = const gate::INFO + info::STACK_TOP,
    depth = const gate::STATE + state::DEPTH,
    active = const gate::STATE + state::ACTIVE,
    calls_out = const gate::STATE + state::CALLS_OUT,
    calls_in = const gate::STATE + state::CALLS_IN,
    tags = const gate::STATE + state::TAGS,
    rsps = const gate::STATE + state::RSPS,
    at_shift = const state::AT_SHIFT,
    out = const state::OUT,
    in_ = const state::IN,
    op_call = const op::CALL,
    op_return = const op::RETURN,
    op_refuse = const op::REFUSE,
    st_no_export = const status::NO_SUCH_EXPORT,
    st_too_deep = const status::TOO_DEEP,
    st_not_permitted = const status::NOT_PERMITTED,
    st_refused = const status::REFUSED,
    v_stray = const violation::STRAY,
    v_corrupt = const violation::CORRUPT_STATE,
    hc_violation = const hypercall::GATE_VIOLATION,
);

unsafe extern "C" {
    static tessera_gate_start: u8;
    static tessera_gate_end: u8;
    static tessera_gate_land: u8;
    static tessera_gate_resume: u8;
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

/// Offset in [`code`] of the path that returns to a waiting caller: L1 resumes a caller
/// whose callee failed here, with RSP = its saved stack pointer, RAX = 0, RDX = status.
pub fn resume_offset() -> u64 {
    (&raw const tessera_gate_resume) as u64 - (&raw const tessera_gate_start) as u64
}
