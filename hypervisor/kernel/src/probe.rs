//! Capability probe: executes the reads `tessera_core::caps` plans (CPUID leaves, then
//! MSRs, each MSR read tolerating #GP) and returns the raw dump. All decoding is in core.

use tessera_core::caps::{CpuidRecord, MsrRecord, RawDump, cpuid_leaves_to_read, msrs_to_read};

use crate::cpu::{cpuid, rdmsr_safe};

/// Reads every CPUID leaf and MSR the core's probe plan asks for.
pub fn read_machine() -> RawDump {
    let max_basic = cpuid(0, 0)[0];
    let max_ext = cpuid(0x8000_0000, 0)[0];
    let mut dump = RawDump::default();
    for (leaf, subleaf) in cpuid_leaves_to_read(max_basic, max_ext) {
        let [eax, ebx, ecx, edx] = cpuid(leaf, subleaf);
        dump.cpuid.push(CpuidRecord {
            leaf,
            subleaf,
            eax,
            ebx,
            ecx,
            edx,
        });
    }
    for index in msrs_to_read(&dump) {
        let value = rdmsr_safe(index).map_err(|_| tessera_core::caps::MsrFault::Gp);
        dump.msrs.push(MsrRecord { index, value });
    }
    dump
}
