//! The guest's general registers, saved and restored by each backend's entry code (RSP
//! and RIP live in the VMCS/VMCB; on SVM so does RAX, which the backend syncs).

/// The guest's general registers: the engine's own type, whose layout (`repr(C)`, RAX to
/// R15 in order) the entry code below relies on.
pub use tessera_engine::backend::Gprs as GuestRegs;

/// Assembly (Intel syntax, RDI = `*mut GuestRegs`) loading RBX, RCX, RDX, RSI, RBP and
/// R8–R15 from [`GuestRegs`]. RAX and RDI are each backend's own business (RDI last, RAX
/// lives in the VMCB on SVM). The offsets are checked against the struct below.
macro_rules! load_guest_gprs {
    () => {
        "mov rbx, [rdi + 8]\n mov rcx, [rdi + 16]\n mov rdx, [rdi + 24]\n mov rsi, [rdi + 32]\n \
         mov rbp, [rdi + 48]\n mov r8, [rdi + 56]\n mov r9, [rdi + 64]\n mov r10, [rdi + 72]\n \
         mov r11, [rdi + 80]\n mov r12, [rdi + 88]\n mov r13, [rdi + 96]\n mov r14, [rdi + 104]\n \
         mov r15, [rdi + 112]\n"
    };
}

/// The stores matching [`load_guest_gprs`] (RDI = `*mut GuestRegs`).
macro_rules! store_guest_gprs {
    () => {
        "mov [rdi + 8], rbx\n mov [rdi + 16], rcx\n mov [rdi + 24], rdx\n mov [rdi + 32], rsi\n \
         mov [rdi + 48], rbp\n mov [rdi + 56], r8\n mov [rdi + 64], r9\n mov [rdi + 72], r10\n \
         mov [rdi + 80], r11\n mov [rdi + 88], r12\n mov [rdi + 96], r13\n mov [rdi + 104], r14\n \
         mov [rdi + 112], r15\n"
    };
}

pub(crate) use {load_guest_gprs, store_guest_gprs};

// The offsets those macros (and the entry code's RAX at 0, RDI at 40) rely on.
const _: () = {
    use core::mem::offset_of;
    let offsets = [
        offset_of!(GuestRegs, rax),
        offset_of!(GuestRegs, rbx),
        offset_of!(GuestRegs, rcx),
        offset_of!(GuestRegs, rdx),
        offset_of!(GuestRegs, rsi),
        offset_of!(GuestRegs, rdi),
        offset_of!(GuestRegs, rbp),
        offset_of!(GuestRegs, r8),
        offset_of!(GuestRegs, r9),
        offset_of!(GuestRegs, r10),
        offset_of!(GuestRegs, r11),
        offset_of!(GuestRegs, r12),
        offset_of!(GuestRegs, r13),
        offset_of!(GuestRegs, r14),
        offset_of!(GuestRegs, r15),
    ];
    let mut i = 0;
    while i < offsets.len() {
        assert!(offsets[i] == 8 * i);
        i += 1;
    }
};
