//! Per-CPU statics, marked as such in their type: a [`PerCpu<T>`] holds one `T` for each
//! CPU the kernel may bring up, and an entry is reached only with that CPU's
//! [`CpuIndex`]. Code running on CPU K uses entry K; another CPU touches entry K only
//! where the entry's own type allows it (atomics, `Once`), e.g. the boot CPU reading
//! whether an AP came online.

pub use tessera_core::smp::MAX_CPUS;

/// A CPU's index in boot order: 0 is the boot CPU, then the APs as the kernel started
/// them (not the APIC ID, which firmware numbers with gaps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuIndex(usize);

impl CpuIndex {
    /// The boot processor.
    pub const BOOT: CpuIndex = CpuIndex(0);

    /// Index `k`, if the per-CPU tables have room for it.
    pub fn new(k: usize) -> Option<CpuIndex> {
        (k < MAX_CPUS).then_some(CpuIndex(k))
    }

    pub fn get(self) -> usize {
        self.0
    }
}

/// One `T` per CPU.
pub struct PerCpu<T>([T; MAX_CPUS]);

impl<T> PerCpu<T> {
    pub const fn new(entries: [T; MAX_CPUS]) -> Self {
        PerCpu(entries)
    }

    /// CPU `cpu`'s entry.
    pub fn of(&self, cpu: CpuIndex) -> &T {
        &self.0[cpu.0]
    }
}
