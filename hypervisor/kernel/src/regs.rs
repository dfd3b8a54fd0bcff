//! The guest's general registers, saved and restored by each backend's entry code (RSP
//! and RIP live in the VMCS/VMCB; on SVM so does RAX, which the backend syncs).

/// The guest's general registers. The field order is the layout the entry code uses.
#[repr(C)]
#[derive(Debug, Default, Clone)]
pub struct GuestRegs {
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rbp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
}
