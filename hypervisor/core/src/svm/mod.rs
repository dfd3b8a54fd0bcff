//! AMD SVM: pure pieces of the SVM backend (VMCB layout, exit decoding). Vendor words
//! stay inside this module and the kernel's `svm/`.

pub mod exit;
pub mod vmcb;
