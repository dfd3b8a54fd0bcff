//! The ISO boots on UEFI firmware: the same hybrid ISO Bochs boots through the BIOS
//! (`grub-mkrescue` with both GRUB platforms) booted by OVMF in QEMU (TCG, the SVM path),
//! GRUB EFI loading the unchanged multiboot kernel and its modules.

use tessera_scenarios::{
    assert_passed, assert_record, boot_modules, boot_smp, compartment, records,
};
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

/// UEFI firmware leaves no RSDP in the BIOS areas; the kernel finds it in the ACPI memory
/// of the map GRUB EFI passes (`core::acpi::find_rsdp`) and starts the second CPU.
#[test]
fn on_uefi_firmware_the_madt_is_found_and_both_cpus_come_online() {
    let engine = Engine::Uefi {
        cpu: xtask::engine::DEFAULT_QEMU_CPU.into(),
    };
    let outcome = boot_smp(engine, "", 2);
    assert_passed(&outcome);
    let cpus: Vec<(String, String, Option<String>)> = records(&outcome, "CPU")
        .into_iter()
        .map(|r| {
            (
                r["index"].clone(),
                r["state"].clone(),
                r.get("svme").cloned(),
            )
        })
        .collect();
    let line = |index: &str, state: &str, svme: Option<&str>| {
        (index.to_owned(), state.to_owned(), svme.map(str::to_owned))
    };
    assert_eq!(
        cpus,
        [
            line("0", "online", None),
            line("1", "online", Some("1")),
            line("1", "ready", None)
        ],
        "the boot CPU, the AP with SVM on, then the AP woken with its first job"
    );
}

/// On UEFI firmware the APs also run vCPUs: pingpong's ping on both vCPUs at once, each
/// reporting its round trips (two emulated switches each, SVM), each `main` ending.
#[test]
fn on_uefi_firmware_pingpong_runs_on_both_vcpus() {
    let engine = Engine::Uefi {
        cpu: xtask::engine::DEFAULT_QEMU_CPU.into(),
    };
    let modules = tessera_scenarios::declaration("examples/pingpong");
    let outcome = tessera_scenarios::boot_smp_modules(engine, "", 2, modules);
    assert_passed(&outcome);
    for cpu in ["0", "1"] {
        assert_record(
            &outcome,
            "ROUNDTRIPS",
            &[("compartment", "ping"), ("cpu", cpu), ("n", "10000")],
        );
        assert_record(
            &outcome,
            "EXIT",
            &[("compartment", "ping"), ("cpu", cpu), ("code", "0")],
        );
    }
}
