//! The application processors' first instructions: real mode → protected mode → long
//! mode, then a call into the kernel on the AP's own stack.
//!
//! Facts relied on:
//! - SDM 3A §9.4.4.1 / §11.6.1: a start-up IPI with vector V starts the AP in real mode
//!   with CS = V << 8 (base V << 12) and IP = 0, interrupts off.
//! - SDM 3A §9.9.1 "Switching to Protected Mode": LGDT, CR0.PE, a far jump.
//! - SDM 3A §10.8.5 "Initializing IA-32e Mode": CR4.PAE, CR3, EFER.LME, CR0.PG, then a
//!   far jump to a 64-bit code segment (as `boot.rs` does on the boot CPU).
//!
//! The code is assembled for one address, `tessera_core::smp::TRAMPOLINE`, and copied
//! there before the first SIPI; every absolute address in it is that constant plus an
//! offset inside the trampoline. The boot CPU fills the four slots at its end (CR3,
//! stack top, the AP's index, the Rust entry) before starting each AP, and starts the
//! next AP only after this one reported online: one AP at a time uses the slots.

use core::arch::global_asm;

global_asm!(
    r#"
    .section .text.ap_trampoline, "ax"
    .balign 16
    .global tessera_ap_start
    .code16
tessera_ap_start:
    cli
    cld
    movw %cs, %ax
    movw %ax, %ds
    lgdtl (ap_gdt_ptr - tessera_ap_start)
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    ljmpl $0x18, $({base} + ap_pm32 - tessera_ap_start)

    .code32
ap_pm32:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movl %cr4, %eax
    orl $(1 << 5), %eax                  /* CR4.PAE */
    movl %eax, %cr4
    movl ({base} + tessera_ap_cr3 - tessera_ap_start), %eax
    movl %eax, %cr3
    movl $0xC0000080, %ecx               /* IA32_EFER */
    rdmsr
    orl $(1 << 8), %eax                  /* EFER.LME */
    wrmsr
    movl %cr0, %eax
    orl $((1 << 31) | (1 << 16) | (1 << 5) | 1), %eax   /* PG, WP, NE, PE */
    movl %eax, %cr0
    ljmpl $0x08, $({base} + ap_lm64 - tessera_ap_start)

    .code64
ap_lm64:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorw %ax, %ax
    movw %ax, %fs
    movw %ax, %gs
    movq ({base} + tessera_ap_stack - tessera_ap_start), %rsp
    movq ({base} + tessera_ap_index - tessera_ap_start), %rdi
    movq ({base} + tessera_ap_entry - tessera_ap_start), %rax
    xorl %ebp, %ebp
    call *%rax
1:  cli
    hlt
    jmp 1b

    .balign 8
ap_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF   /* 0x08: 64-bit code, as boot.rs and gdt.rs */
    .quad 0x00CF92000000FFFF   /* 0x10: data */
    .quad 0x00CF9A000000FFFF   /* 0x18: 32-bit code, for the step through protected mode */
ap_gdt_ptr:
    .word 4 * 8 - 1
    .long {base} + ap_gdt - tessera_ap_start
    .balign 8
    .global tessera_ap_cr3
tessera_ap_cr3:   .quad 0
    .global tessera_ap_stack
tessera_ap_stack: .quad 0
    .global tessera_ap_index
tessera_ap_index: .quad 0
    .global tessera_ap_entry
tessera_ap_entry: .quad 0
    .global tessera_ap_end
tessera_ap_end:
    .text
"#,
    base = const tessera_core::smp::TRAMPOLINE,
    options(att_syntax)
);

unsafe extern "C" {
    pub static tessera_ap_start: u8;
    pub static tessera_ap_cr3: u8;
    pub static tessera_ap_stack: u8;
    pub static tessera_ap_index: u8;
    pub static tessera_ap_entry: u8;
    pub static tessera_ap_end: u8;
}
