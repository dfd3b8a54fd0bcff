//! The common gate code (docs/gates.md): guest code that L1 copies into the gate region
//! at `tessera_abi::gate::CODE`, shared read-execute by every view. It is assembled here
//! but never runs in L1. Every address in it is an absolute guest-physical address of the
//! gate region (the info and state pages, the own slot), so it needs no base register.
//!
//! A message (R11 = source from the landing pad, R12 = op, RBX = export (CALL), RDX =
//! status (RETURN, REFUSE), R13 = result, R14 = the caller's OUT frame index, RDI, RSI,
//! RDX, R10, R8, R9 = arguments) is
//! judged by the *receiving* gate (`gate_land`) exactly as `tessera_core::protocol::receive`
//! models it. The receiving gate zeroes every register that is not part of the message and
//! normalises RFLAGS (0x202), DS/ES/FS/GS/SS and CR2 before any code of the receiver runs,
//! so nothing but arguments and results crosses (DESIGN §6 property 7). x87/MMX/SSE state
//! cannot cross at all: guests run with CR0.EM = 1.
//!
//! Nothing before the stack switch touches memory through RSP: at `gate_land` RSP still
//! holds the source's value, which means nothing (or something hostile) in this view.

use core::arch::global_asm;
use tessera_abi::gate::{self, info, op, shared, state, status, violation};
use tessera_abi::hypercall;

global_asm!(
    r#"
    .section .rodata.tessera_gate, "a"
    .balign 16
    .global tessera_gate_start
tessera_gate_start:

/* Segments as every compartment starts with them: the data selector, loaded straight
   from this view's state page (L1 writes it there). CR2 is checked at landing, together
   with the FAILED word; RFLAGS comes last, right before the receiver's code:
   `push 0x202; popfq`, after every flag-writing instruction. */
.macro SEGMENTS
    mov ds, word ptr [{data_sel}]
    mov es, word ptr [{data_sel}]
    mov fs, word ptr [{data_sel}]
    mov gs, word ptr [{data_sel}]
    mov ss, word ptr [{data_sel}]
.endm

/* An accepted CALL from R11 (RAX = the export's address, R13 = DEPTH): switch to this
   view's stack, push the IN frame, run the export, check and pop the frame, RETURN.
   `release` 1: this activation claimed OWNER (80 below): store 0 into it once its frame
   is popped, before the switch (no frame of this view is then left on this vCPU). */
.macro ACTIVATION release
    mov rsp, qword ptr [{rsps} - 8 + r13 * 8]   /* busy: below the frame it waits in; */
                                        /* idle: RSPS[-1] = IDLE_RSP, its stack top */
    shl r14, {at_shift}
    lea rbp, [r14 + r11 * 4 + {in_}]    /* IN frame: source and its OUT frame's index */
    mov qword ptr [{tags} + r13 * 8], rbp
    inc qword ptr [{depth}]
    inc qword ptr [{calls_in}]
    mov r15d, r11d
    /* RBP (the IN tag) and R15 (the source) survive the export (System V callee-saved);
       RBX, R11-R15 hold only the message and this view's own bookkeeping, RAX the
       export's address: nothing of the caller's but the arguments. */
    SEGMENTS
    mov rcx, r10
    push 0x202
    popfq
    call rax
    mov r13, qword ptr [{depth}]        /* (R14 still holds what the call carried) */
    cmp rbp, qword ptr [{tags} - 8 + r13 * 8]
    jne 50f                             /* our own frame is not where we left it */
    dec qword ptr [{depth}]
.if \release
    mov qword ptr [{owner}], 0
.endif
    mov r13, rax                        /* result */
    xor edx, edx                        /* status OK */
    mov r12d, {op_return}
    mov ecx, r15d                       /* back to the source */
    xor eax, eax
    jmp qword ptr [{slot}]
.endm

/* ---- gate_call (offset 0): a compartment calls `call rcx` with RCX = CODE. ---- */
gate_call:
    push rbx                            /* R12-R14 are the SDK's to save (clobbered) */
    push rbp
    push r15                            /* three pushes: RSPS[d] = 0 (mod 16), as a */
                                        /* call arriving while we wait needs it */
    cmp r11, qword ptr [{views}]
    jae 8f                              /* no such view: NO_SUCH_EXPORT, no switch */
    mov r14, qword ptr [{depth}]        /* our OUT frame's index, sent with the call */
    lea rcx, [r11 * 4 + {out}]
    mov qword ptr [{tags} + r14 * 8], rcx
    mov qword ptr [{rsps} + r14 * 8], rsp
    inc qword ptr [{depth}]
    inc qword ptr [{calls_out}]
    mov rbx, rax                        /* export index */
    mov r12d, {op_call}
    mov ecx, r11d                       /* target view */
    xor eax, eax
    jmp qword ptr [{slot}]
8:  xor eax, eax                        /* RDI, RSI, R8-R10 untouched, RDX's value in */
    mov rcx, rdx                        /* RCX: the SDK can make the call again */
    mov edx, {st_no_export}
    jmp 9f

/* ---- gate_land: every landing pad jumps here with R11 = source view. ----
   One test covers two rare cases: CR2 written by someone (MOV to CR2 is serialising, so
   it is cleared only then) and this view stopped. On the common path RCX is then 0. */
    .global tessera_gate_land
tessera_gate_land:
    mov rcx, cr2
    or rcx, qword ptr [{failed}]
    jnz 60f
61: cmp r12, {op_call}
    jne 20f

    /* CALL from R11, export RBX. The export bound and the caller's bit are both masked
       into the index and the address, so no mispredicted branch calls anything
       (Spectre v1); one branch for both, the refusal path tells them apart. */
    cmp rbx, qword ptr [{export_count}]
    sbb rax, rax                        /* -1: index in bounds */
    bt qword ptr [{callers}], r11
    sbb rcx, rcx                        /* -1: the source may call */
    and rax, rcx
    and rbx, rax
    and rax, qword ptr [{exports} + rbx * 8]
    jz 30f                              /* not permitted, no such export or address 0 */
    /* Nesting: a view that receives a call waits in every activation it has (or is
       idle), so its frames are [OUT of its main] (IN OUT)*, and DEPTH < 2 * max_depth
       says exactly that fewer than max_depth activations are open (docs/gates.md). */
    mov r13, qword ptr [{depth}]
    cmp r13, qword ptr [{depth_limit}]
    jae 33f
    /* Serial and no activation on this vCPU yet (DEPTH 0, or 1: its main waits in a
       call): claim OWNER first (80 below). CLAIM_BELOW is 2 for a serial view, 0 for a
       parallel one, so both are one compare; DEPTH is below DEPTH_LIMIT here. */
    cmp r13, qword ptr [{claim_below}]
    jb 80f
71: ACTIVATION 0

    /* Any other op is a reply, RETURN (result R13, status RDX) or REFUSE (status RDX),
       from R11: it must answer our top frame, a call to R11 (with no frame the sentinel,
       0, matches nothing). A matching reply is taken whatever its op (the sender could
       have sent RETURN); one that matches nothing is refused, unless it is a REFUSE. */
20: mov rsi, qword ptr [{depth}]
    lea rdi, [r11 * 4 + {out}]
    cmp rdi, qword ptr [{tags} - 8 + rsi * 8]
    jne 25f
    dec qword ptr [{depth}]
    mov rsp, qword ptr [{rsps} - 8 + rsi * 8]
    mov rax, r13
    /* Back in this view's waiting code: RAX, RDX the answer, R11 the peer it called,
       R12 the op, R13 the result, RCX 0 (landing), R14 what the answer's sender got in
       R14 with the message it answers (this view's own frame index, shifted, when that
       was this view's call and the callee's export kept its callee-saved registers);
       everything else is zeroed or restored here. */
70: SEGMENTS
    xor esi, esi
    xor edi, edi
    xor r8d, r8d
    xor r9d, r9d
    xor r10d, r10d
    push 0x202
    popfq
9:  pop r15
    pop rbp
    pop rbx
    ret

    .global tessera_gate_resume
tessera_gate_resume:                    /* L1 resumes a waiting caller here: RSP = its */
    xor ecx, ecx                        /* saved RSP, RAX = 0, RDX = status */
    xor r11d, r11d
    mov rsi, cr2
    test rsi, rsi
    jz 70b
    xor esi, esi
    mov cr2, rsi
    jmp 70b

25: cmp r12, {op_refuse}
    je 45f                              /* a refusal is never refused: stray */
34: mov edx, {st_refused}
    jmp 38f
30: bt qword ptr [{callers}], r11
    jc 32f
    mov edx, {st_not_permitted}
    jmp 38f
32: mov edx, {st_no_export}
    jmp 38f
33: mov edx, {st_too_deep}
    jmp 38f
41: mov rdx, qword ptr [{failed}]      /* the status L1 refuses calls with */
38: mov r12d, {op_refuse}
    xor r13d, r13d
    mov ecx, r11d                       /* back to the source, through our own slot */
    xor eax, eax
    jmp qword ptr [{slot}]

    /* A call accepted into a serial view with no activation on this vCPU: claim OWNER,
       0 -> CPU+1, atomically (the view's gate on another vCPU may be doing the same).
       Claimed: this activation releases it when it returns (ACTIVATION 1). Already
       CPU+1 (its main waits in a call here, L1 claimed it; or an activation L1 popped
       without releasing yet): proceed, and leave it to whoever claimed it. Another
       vCPU's: REFUSE with BUSY, nothing changed (a failed cmpxchg writes back the value
       it read). RAX is cmpxchg's, so the export's address is loaded again (RBX is the
       masked index). Nobody waits for OWNER here, so nothing can deadlock on it. */
80: xor eax, eax
    mov rcx, qword ptr [{cpu}]
    inc rcx
    lock cmpxchg qword ptr [{owner}], rcx
    jne 82f
    mov rax, qword ptr [{exports} + rbx * 8]
    ACTIVATION 1
82: cmp rax, rcx
    jne 35f
    mov rax, qword ptr [{exports} + rbx * 8]
    jmp 71b
35: mov edx, {st_busy}
    jmp 38b

    /* CR2 dirty or this view stopped: clear CR2 if it is dirty, then a stopped view runs
       nothing: calls are refused, anything else is L1's. */
60: mov rcx, cr2
    test rcx, rcx
    jz 62f
    xor ecx, ecx
    mov cr2, rcx
62: cmp qword ptr [{failed}], 0
    je 61b
    cmp r12, {op_call}
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
    data_sel = const gate::STATE + state::DATA_SELECTOR,
    views = const gate::INFO + info::VIEWS,
    slot = const gate::INFO + info::SLOT_ADDR,
    failed = const gate::INFO + info::FAILED,
    callers = const gate::INFO + info::CALLERS,
    export_count = const gate::INFO + info::EXPORT_COUNT,
    exports = const gate::INFO + info::EXPORTS,
    depth_limit = const gate::INFO + info::DEPTH_LIMIT,
    claim_below = const gate::INFO + info::CLAIM_BELOW,
    cpu = const gate::INFO + info::CPU,
    owner = const gate::SHARED + shared::OWNER,
    depth = const gate::STATE + state::DEPTH,
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
    st_busy = const status::BUSY,
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
