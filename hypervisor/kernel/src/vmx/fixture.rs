//! The VMX hooks of the conformance fixture (cargo feature `fixture`;
//! `tessera_engine::fixture::RawViews`): any EPT pointer L1 built, the EPTP-index field,
//! and the hardware EPTP list, which the fixture replaces for every case.

use super::backend::VmxCpu;
use tessera_core::vmx::fields;
use tessera_engine::fixture::RawViews;
use tessera_engine::ids::ViewId;

impl RawViews for VmxCpu {
    fn load_pointer(&mut self, _view: ViewId, pointer: u64, index: Option<u16>) {
        self.load_eptp(pointer, index);
    }

    fn loaded_pointer(&self) -> u64 {
        // KVM does not maintain the EPTP-index field for L1 (VMFUNC-SEMANTICS.md): the EPT
        // pointer itself says what runs.
        self.pointer()
    }

    fn view_index(&self) -> Option<u16> {
        // The field exists only where the CPU supports EPT-violation #VE (SDM 3C §25.6.19).
        self.caps.ve.then(|| self.read(fields::EPTP_INDEX) as u16)
    }

    fn set_list(&mut self, list: &[u64; 512]) {
        self.write_list(list);
    }
}
