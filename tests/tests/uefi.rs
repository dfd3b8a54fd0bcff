//! The ISO boots on UEFI firmware: the same hybrid ISO Bochs boots through the BIOS
//! (`grub-mkrescue` with both GRUB platforms) booted by OVMF in QEMU (TCG, the SVM path),
//! GRUB EFI loading the unchanged multiboot kernel and its modules.

use tessera_scenarios::{assert_passed, assert_record, boot_modules, compartment};
use xtask::engine::Engine;

#[test]
fn the_iso_boots_hello_on_uefi_firmware() {
    let engine = Engine::Uefi {
        cpu: xtask::engine::DEFAULT_QEMU_CPU.into(),
    };
    let outcome = boot_modules(engine, "", vec![compartment("hello")]);
    assert_passed(&outcome);
    assert_record(&outcome, "EXIT", &[("compartment", "hello"), ("code", "0")]);
    assert_record(&outcome, "SWITCH", &[]);
}
