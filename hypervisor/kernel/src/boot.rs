//! Multiboot v1 entry: the header GRUB and QEMU look for, a 32-bit entry that builds
//! identity page tables and enters long mode, then a jump to [`crate::kmain`].
//!
//! Facts relied on:
//! - Multiboot 0.6.96 §3.1: header in the first 8 KiB, 4-byte aligned; flag 16 ("a.out
//!   kludge") makes the loader use the address fields instead of ELF headers; on entry
//!   EAX = 0x2BADB002, EBX = physical address of the info structure, protected mode,
//!   paging off, interrupts off, no valid stack.
//! - Intel SDM Vol. 3A §10.8.5 "Initializing IA-32e Mode": PAE on, CR3 = PML4, EFER.LME,
//!   then CR0.PG; a far jump to a 64-bit code segment completes the switch.
//! - The identity map covers the first 4 GiB with 2 MiB pages (SDM 3A §4.5, PDE with PS).

use core::arch::global_asm;

/// Multiboot header flags: bit 0 page-align modules, bit 1 memory info, bit 16 a.out kludge.
const MB_FLAGS: u32 = (1 << 0) | (1 << 1) | (1 << 16);
const MB_MAGIC: u32 = 0x1BAD_B002;

global_asm!(
    r#"
    .section .multiboot_header, "a"
    .balign 4
mb_header:
    .long {magic}
    .long {flags}
    .long {checksum}
    .long mb_header           /* header_addr */
    .long __image_start       /* load_addr */
    .long __load_end          /* load_end_addr */
    .long __bss_end           /* bss_end_addr */
    .long _start32            /* entry_addr */

    .section .text.boot, "ax"
    .code32
    .global _start32
_start32:
    cli
    cld
    movl $boot_stack_top, %esp
    movl %eax, %edi           /* multiboot magic -> first argument of kmain */
    movl %ebx, %esi           /* multiboot info  -> second argument */

    /* Long mode available? CPUID.80000001h:EDX[29]. Otherwise report on COM1 and stop. */
    movl $0x80000000, %eax
    cpuid
    cmpl $0x80000001, %eax
    jb no_long_mode
    movl $0x80000001, %eax
    cpuid
    btl $29, %edx
    jnc no_long_mode

    /* PML4[0] -> PDPT, PDPT[0..4] -> PD[0..4], PD entries: 2048 x 2 MiB, present+write+PS. */
    movl $boot_pdpt, %eax
    orl $0x3, %eax
    movl %eax, boot_pml4
    movl $boot_pd, %eax
    orl $0x3, %eax
    xorl %ecx, %ecx
1:  movl %eax, boot_pdpt(,%ecx,8)
    addl $0x1000, %eax
    incl %ecx
    cmpl $4, %ecx
    jne 1b
    xorl %ecx, %ecx
2:  movl %ecx, %eax
    shll $21, %eax
    orl $0x83, %eax
    movl %eax, boot_pd(,%ecx,8)
    movl %ecx, %edx
    shrl $11, %edx
    movl %edx, boot_pd+4(,%ecx,8)
    incl %ecx
    cmpl $2048, %ecx
    jne 2b

    movl $boot_pml4, %eax
    movl %eax, %cr3
    movl %cr4, %eax
    orl $(1 << 5), %eax        /* CR4.PAE */
    movl %eax, %cr4
    movl $0xC0000080, %ecx     /* IA32_EFER */
    rdmsr
    orl $(1 << 8), %eax        /* EFER.LME */
    wrmsr
    movl %cr0, %eax
    orl $((1 << 31) | (1 << 16) | (1 << 5) | 1), %eax   /* PG, WP, NE, PE */
    movl %eax, %cr0
    lgdt boot_gdt_ptr
    ljmp $0x08, $long_mode_entry

no_long_mode:
    movl $no_lm_msg, %esi
3:  movb (%esi), %al
    testb %al, %al
    jz 5f
    movl %eax, %ebx
4:  movw $0x3FD, %dx           /* COM1 LSR: wait for THRE */
    inb %dx, %al
    testb $0x20, %al
    jz 4b
    movl %ebx, %eax
    movw $0x3F8, %dx
    outb %al, %dx
    incl %esi
    jmp 3b
5:  cli
    hlt
    jmp 5b

    .code64
long_mode_entry:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorw %ax, %ax
    movw %ax, %fs
    movw %ax, %gs
    movabsq $boot_stack_top, %rsp
    movl %edi, %edi           /* zero-extend: upper halves are undefined after the mode switch */
    movl %esi, %esi
    xorl %ebp, %ebp
    call {kmain}
6:  cli
    hlt
    jmp 6b

    .section .rodata
no_lm_msg:
    .asciz "@@RESULT fail reason=no-long-mode\r\n"
    .balign 8
boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF   /* 0x08: 64-bit code, DPL 0 */
    .quad 0x00CF92000000FFFF   /* 0x10: data, DPL 0 */
boot_gdt_end:
boot_gdt_ptr:
    .word boot_gdt_end - boot_gdt - 1
    .quad boot_gdt

    .section .bss
    .balign 4096
boot_pml4:  .skip 4096
boot_pdpt:  .skip 4096
boot_pd:    .skip 4096 * 4
boot_stack: .skip {stack_size}
boot_stack_top:
"#,
    magic = const MB_MAGIC,
    flags = const MB_FLAGS,
    checksum = const 0u32.wrapping_sub(MB_MAGIC.wrapping_add(MB_FLAGS)),
    stack_size = const crate::BOOT_STACK_SIZE,
    kmain = sym crate::kmain,
    options(att_syntax)
);
