# Multiboot (v1) to PVH: the first code of the nested-kvm guest image.
#
# GRUB loads the image (an ELF32 that xtask writes: this stub plus the PT_LOAD segments of
# Debian's decompressed vmlinux at their physical addresses) and two modules: the guest's
# initramfs and Tessera's payload, both uncompressed cpio archives. The stub appends the
# payload to the initramfs (Linux's PVH boot takes one initrd; the kernel unpacks
# concatenated cpio archives in order), builds a PVH `hvm_start_info` from the multiboot
# information, and jumps to the kernel's 32-bit PVH entry (the XEN_ELFNOTE_PHYS32_ENTRY
# note), which xtask patches into `pvh_entry`. Layout constants come from xtask as
# --defsym symbols (xtask/src/nested/stub.rs): STUB_BASE, START_INFO, MODLIST, CMDLINE,
# CMDLINE_MAX, MEMMAP, MEMMAP_MAX, STACK_TOP.
#
# Entry state (Multiboot 0.6.96 §3.2): EAX = 0x2BADB002, EBX = multiboot info, 32-bit
# flat protected mode, paging off, interrupts off. The PVH entry wants the same plus
# EBX = hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h; Linux
# arch/x86/platform/pvh/head.S).

    .code32
    .text
    .globl _start

    # Multiboot header: flags bit 0 = page-aligned modules, bit 1 = memory map.
    .long 0x1BADB002
    .long 0x00000003
    .long -(0x1BADB002 + 0x00000003)
pvh_entry:
    .long 0                             # patched by xtask (offset 12)

_start:                                 # offset 16: the ELF entry point
    cli
    cld
    mov $STACK_TOP, %esp
    cmp $0x2BADB002, %eax
    jne bad_magic
    mov %ebx, %ebp                      # EBP = multiboot info for the whole stub
    mov $msg_start, %esi
    call puts

    # Modules (info flags bit 3): one (the initramfs) or two (initramfs + payload).
    testl $(1 << 3), 0(%ebp)
    jz no_modules
    mov 20(%ebp), %ecx                  # mods_count
    cmp $1, %ecx
    jb no_modules
    cmp $2, %ecx
    ja too_many_modules
    mov 24(%ebp), %esi                  # mods_addr: {start, end, string, reserved}
    mov 0(%esi), %eax
    mov %eax, initrd_start
    mov 4(%esi), %eax
    mov %eax, initrd_end
    cmp $2, %ecx
    jne 1f
    mov 16(%esi), %eax
    mov %eax, payload_start
    mov 20(%esi), %eax
    mov %eax, payload_end
1:
    # Memory map (flags bit 6) -> PVH memmap: {u64 addr, u64 size, u32 type, u32 0}.
    testl $(1 << 6), 0(%ebp)
    jz no_memory_map
    mov 48(%ebp), %esi                  # mmap_addr
    mov 44(%ebp), %edx                  # mmap_length
    add %esi, %edx                      # EDX = end of the multiboot map
    mov $MEMMAP, %edi
    xor %ecx, %ecx                      # entries written
2:  cmp %edx, %esi
    jae 3f
    cmp $MEMMAP_MAX, %ecx
    jae 3f
    mov 4(%esi), %eax                   # addr (u64)
    mov %eax, 0(%edi)
    mov 8(%esi), %eax
    mov %eax, 4(%edi)
    mov 12(%esi), %eax                  # len (u64)
    mov %eax, 8(%edi)
    mov 16(%esi), %eax
    mov %eax, 12(%edi)
    mov 20(%esi), %eax                  # type
    mov %eax, 16(%edi)
    movl $0, 20(%edi)
    add $24, %edi
    inc %ecx
    add 0(%esi), %esi                   # size (not counting itself)
    add $4, %esi
    jmp 2b
3:  mov %ecx, memmap_entries

    # Command line (flags bit 2), copied into the stub's own memory.
    mov $CMDLINE, %edi
    testl $(1 << 2), 0(%ebp)
    jz 5f
    mov 16(%ebp), %esi
    mov $(CMDLINE_MAX - 1), %ecx
4:  lodsb
    test %al, %al
    jz 5f
    stosb
    loop 4b
5:  movb $0, (%edi)

    # Append the payload to the initramfs: copy it to the first 4-byte boundary after
    # the initramfs and zero the gap (the kernel skips zero padding between archives).
    mov payload_start, %esi
    test %esi, %esi
    jz 6f
    mov initrd_end, %edi
    mov %edi, %ebx
    add $3, %ebx
    and $~3, %ebx                       # EBX = destination
    xor %eax, %eax
    mov %ebx, %ecx
    sub %edi, %ecx
    rep stosb                           # zero the 0..3 gap bytes
    mov payload_end, %ecx
    sub %esi, %ecx                      # ECX = payload length
    mov %ebx, %edi
    lea (%ebx, %ecx), %eax
    mov %eax, initrd_end
    call memmove
6:
    # hvm_start_info (version 1): magic, version, flags, nr_modules, modlist_paddr,
    # cmdline_paddr, rsdp_paddr (0: the kernel searches the BIOS area), memmap_paddr,
    # memmap_entries, reserved.
    mov $START_INFO, %edi
    xor %eax, %eax
    mov $16, %ecx
    rep stosl
    movl $0x336ec578, START_INFO + 0
    movl $1, START_INFO + 4
    movl $1, START_INFO + 12
    movl $MODLIST, START_INFO + 16
    movl $CMDLINE, START_INFO + 24
    movl $MEMMAP, START_INFO + 40
    mov memmap_entries, %eax
    mov %eax, START_INFO + 48
    # hvm_modlist_entry: {u64 paddr, u64 size, u64 cmdline_paddr, u64 reserved}.
    mov $MODLIST, %edi
    xor %eax, %eax
    mov $8, %ecx
    rep stosl
    mov initrd_start, %eax
    mov %eax, MODLIST + 0
    mov initrd_end, %ecx
    sub %eax, %ecx
    mov %ecx, MODLIST + 8

    mov $msg_jump, %esi
    call puts
    mov pvh_entry, %eax
    test %eax, %eax
    jz no_entry
    mov $START_INFO, %ebx
    xor %ecx, %ecx
    xor %edx, %edx
    xor %esi, %esi
    xor %edi, %edi
    xor %ebp, %ebp
    jmp *%eax

# memmove(EDI = destination, ESI = source, ECX = length): backwards when they overlap
# with the destination above the source.
memmove:
    cmp %esi, %edi
    je 2f
    jb 1f
    lea (%esi, %ecx), %eax
    cmp %eax, %edi
    jae 1f
    lea -1(%esi, %ecx), %esi
    lea -1(%edi, %ecx), %edi
    std
    rep movsb
    cld
    ret
1:  mov %ecx, %edx
    shr $2, %ecx
    rep movsl
    mov %edx, %ecx
    and $3, %ecx
    rep movsb
2:  ret

# puts(ESI = NUL-terminated string) on COM1, waiting for THR empty before each byte.
puts:
    mov $0x3fd, %dx
1:  in %dx, %al
    test $0x20, %al
    jz 1b
    lodsb
    test %al, %al
    jz 2f
    mov $0x3f8, %dx
    out %al, %dx
    jmp puts
2:  ret

bad_magic:        mov $msg_magic, %esi;   jmp fatal
no_modules:       mov $msg_modules, %esi; jmp fatal
too_many_modules: mov $msg_many, %esi;    jmp fatal
no_memory_map:    mov $msg_mmap, %esi;    jmp fatal
no_entry:         mov $msg_entry, %esi;   jmp fatal
fatal:
    push %esi
    mov $msg_fatal, %esi
    call puts
    pop %esi
    call puts
1:  cli
    hlt
    jmp 1b

    .align 4
initrd_start:   .long 0
initrd_end:     .long 0
payload_start:  .long 0
payload_end:    .long 0
memmap_entries: .long 0

msg_start:   .asciz "pvh-stub: started by multiboot\r\n"
msg_jump:    .asciz "pvh-stub: entering the kernel's PVH entry\r\n"
msg_fatal:   .asciz "pvh-stub: FATAL: "
msg_magic:   .asciz "not started by a multiboot loader\r\n"
msg_modules: .asciz "no module: the initramfs must be the first module\r\n"
msg_many:    .asciz "more than two modules (initramfs, payload)\r\n"
msg_mmap:    .asciz "no memory map from the loader\r\n"
msg_entry:   .asciz "no PVH entry patched in\r\n"
