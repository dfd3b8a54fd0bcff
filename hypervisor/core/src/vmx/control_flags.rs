//! The bits of the five VMX control words, named as the SDM names them (Vol. 3C
//! "VM-Execution Control Fields", "VM-Exit Control Fields", "VM-Entry Control Fields":
//! Tables 25-5, 25-6, 25-7, 25-13 and 25-15; 24-x in the 2016–2022 editions).
//!
//! A computed word may hold bits that are not named here (a CPU's allowed 0-settings
//! force default-1 bits on): words are built with `from_bits_retain`, which keeps them.

use bitflags::bitflags;

bitflags! {
    /// Pin-based VM-execution controls (Table 25-5).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct PinControls: u32 {
        const EXTERNAL_INTERRUPT_EXITING = 1 << 0;
        const NMI_EXITING = 1 << 3;
        const VIRTUAL_NMIS = 1 << 5;
        const ACTIVATE_PREEMPTION_TIMER = 1 << 6;
        const PROCESS_POSTED_INTERRUPTS = 1 << 7;
    }
}

bitflags! {
    /// Primary processor-based VM-execution controls (Table 25-6).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct PrimaryControls: u32 {
        const INTERRUPT_WINDOW_EXITING = 1 << 2;
        const USE_TSC_OFFSETTING = 1 << 3;
        const HLT_EXITING = 1 << 7;
        const INVLPG_EXITING = 1 << 9;
        const MWAIT_EXITING = 1 << 10;
        const RDPMC_EXITING = 1 << 11;
        const RDTSC_EXITING = 1 << 12;
        const CR3_LOAD_EXITING = 1 << 15;
        const CR3_STORE_EXITING = 1 << 16;
        const ACTIVATE_TERTIARY_CONTROLS = 1 << 17;
        const CR8_LOAD_EXITING = 1 << 19;
        const CR8_STORE_EXITING = 1 << 20;
        const USE_TPR_SHADOW = 1 << 21;
        const NMI_WINDOW_EXITING = 1 << 22;
        const MOV_DR_EXITING = 1 << 23;
        const UNCONDITIONAL_IO_EXITING = 1 << 24;
        const USE_IO_BITMAPS = 1 << 25;
        const MONITOR_TRAP_FLAG = 1 << 27;
        const USE_MSR_BITMAPS = 1 << 28;
        const MONITOR_EXITING = 1 << 29;
        const PAUSE_EXITING = 1 << 30;
        const ACTIVATE_SECONDARY_CONTROLS = 1 << 31;
    }
}

bitflags! {
    /// Secondary processor-based VM-execution controls (Table 25-7).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct SecondaryControls: u32 {
        const VIRTUALIZE_APIC_ACCESSES = 1 << 0;
        const ENABLE_EPT = 1 << 1;
        const DESCRIPTOR_TABLE_EXITING = 1 << 2;
        const ENABLE_RDTSCP = 1 << 3;
        const VIRTUALIZE_X2APIC_MODE = 1 << 4;
        const ENABLE_VPID = 1 << 5;
        const WBINVD_EXITING = 1 << 6;
        const UNRESTRICTED_GUEST = 1 << 7;
        const APIC_REGISTER_VIRTUALIZATION = 1 << 8;
        const VIRTUAL_INTERRUPT_DELIVERY = 1 << 9;
        const PAUSE_LOOP_EXITING = 1 << 10;
        const RDRAND_EXITING = 1 << 11;
        const ENABLE_INVPCID = 1 << 12;
        const ENABLE_VM_FUNCTIONS = 1 << 13;
        const VMCS_SHADOWING = 1 << 14;
        const ENABLE_ENCLS_EXITING = 1 << 15;
        const RDSEED_EXITING = 1 << 16;
        const ENABLE_PML = 1 << 17;
        const EPT_VIOLATION_VE = 1 << 18;
        const CONCEAL_VMX_FROM_PT = 1 << 19;
        const ENABLE_XSAVES_XRSTORS = 1 << 20;
        const MODE_BASED_EXECUTE_CONTROL = 1 << 22;
    }
}

bitflags! {
    /// Primary VM-exit controls (Table 25-13).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct ExitControls: u32 {
        const SAVE_DEBUG_CONTROLS = 1 << 2;
        const HOST_ADDRESS_SPACE_SIZE = 1 << 9;
        const LOAD_IA32_PERF_GLOBAL_CTRL = 1 << 12;
        const ACKNOWLEDGE_INTERRUPT_ON_EXIT = 1 << 15;
        const SAVE_IA32_PAT = 1 << 18;
        const LOAD_IA32_PAT = 1 << 19;
        const SAVE_IA32_EFER = 1 << 20;
        const LOAD_IA32_EFER = 1 << 21;
        const SAVE_PREEMPTION_TIMER_VALUE = 1 << 22;
    }
}

bitflags! {
    /// VM-entry controls (Table 25-15).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct EntryControls: u32 {
        const LOAD_DEBUG_CONTROLS = 1 << 2;
        const IA32E_MODE_GUEST = 1 << 9;
        const ENTRY_TO_SMM = 1 << 10;
        const DEACTIVATE_DUAL_MONITOR_TREATMENT = 1 << 11;
        const LOAD_IA32_PERF_GLOBAL_CTRL = 1 << 13;
        const LOAD_IA32_PAT = 1 << 14;
        const LOAD_IA32_EFER = 1 << 15;
    }
}
