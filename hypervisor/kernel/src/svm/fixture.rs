//! The SVM hooks of the conformance fixture (cargo feature `fixture`;
//! `tessera_engine::fixture::RawViews`): nCR3 from any pointer L1 built. SVM has neither
//! an EPTP-index field nor a hardware EPTP list: every switch is emulated, from the
//! fixture's own copy of the list.

use super::backend::SvmCpu;
use tessera_engine::fixture::RawViews;
use tessera_engine::ids::ViewId;

impl RawViews for SvmCpu {
    fn load_pointer(&mut self, view: ViewId, pointer: u64, _index: Option<u16>) {
        self.load_ncr3(view, pointer);
    }

    fn loaded_pointer(&self) -> u64 {
        self.current.1
    }

    fn view_index(&self) -> Option<u16> {
        None
    }

    fn set_list(&mut self, _list: &[u64; 512]) {}
}
