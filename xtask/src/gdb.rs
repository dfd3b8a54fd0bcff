//! `cargo xtask run --gdb`: QEMU's gdbstub, and what to type into gdb
//! (docs/debugging.md).
//!
//! QEMU starts with its CPU held at reset and a gdbstub listening on localhost. gdb
//! loads the kernel's ELF (L1 runs where it was linked) and each compartment's ELF at its
//! region's base: compartments are static PIEs linked at 0, so `add-symbol-file ELF -o
//! BASE` with the `base=` of the compartment's `@@LOAD` line puts every symbol where the
//! compartment runs. The runner prints that command for each `@@LOAD` line as it arrives.

use crate::engine::Engine;
use crate::image::Module;
use crate::transcript::Record;
use anyhow::{Result, bail};
use std::ffi::OsString;
use std::path::Path;

/// The port `--gdb` listens on without a value (QEMU's `-s` default).
pub const DEFAULT_PORT: u16 = 1234;

/// QEMU's arguments: a gdbstub on `port` of localhost only (`-s` would listen on every
/// interface), and the CPU held at reset until gdb continues it (`-S`).
pub fn qemu_args(port: u16) -> Vec<OsString> {
    vec![
        "-gdb".into(),
        format!("tcp:127.0.0.1:{port}").into(),
        "-S".into(),
    ]
}

/// Refuses engines without QEMU's gdbstub.
pub fn check_engine(engine: &Engine) -> Result<()> {
    match engine {
        Engine::Qemu { .. } | Engine::Kvm { .. } | Engine::Uefi { .. } => Ok(()),
        other => bail!(
            "--gdb attaches gdb to QEMU's gdbstub; {} has none: add --engine qemu (or kvm)",
            other.label()
        ),
    }
}

/// What to run in another terminal, printed before the boot starts. `kernel` is the
/// kernel's ELF64 (the ELF32 QEMU boots has the same addresses but no symbols).
pub fn instructions(port: u16, kernel: &Path) -> String {
    format!(
        "gdb: QEMU waits for a debugger on 127.0.0.1:{port}, its CPU held at reset. In another \
         terminal:\n  gdb -q {} -ex 'set confirm off' -ex 'set trust-readonly-sections on' \
         -ex 'set print asm-demangle on' -ex 'target remote 127.0.0.1:{port}' \
         -ex 'break tessera_svm_run' \
         -ex 'break tessera_vmx_run' -ex continue\nthen, at the first guest entry (every image \
         is loaded by then), load each compartment's symbols at its base with the \
         add-symbol-file line printed below its @@LOAD line (docs/debugging.md)",
        kernel.display()
    )
}

/// For a `@@LOAD` line of a compartment booted from one of `modules`: the gdb command
/// that loads its symbols where it runs.
pub fn hint(line: &str, modules: &[Module]) -> Option<String> {
    let record = Record::parse(line)?;
    if record.word != "LOAD" {
        return None;
    }
    let name = record.get("compartment")?;
    let base = record.get("base")?;
    let module = modules.iter().find(|m| m.name == name)?;
    Some(format!(
        "gdb: add-symbol-file {} -o {base}",
        module.path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn qemu_listens_on_localhost_and_waits() {
        let args: Vec<String> = qemu_args(4321)
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(args, ["-gdb", "tcp:127.0.0.1:4321", "-S"]);
        check_engine(&Engine::Qemu { cpu: "max".into() }).unwrap();
        let e = check_engine(&Engine::Bochs {
            cpu: "tigerlake".into(),
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("--engine qemu"), "{e}");
    }

    #[test]
    fn each_load_line_of_a_booted_module_gets_its_add_symbol_file() {
        let modules = [Module::new(PathBuf::from("/t/exit-five"), "exit-five")];
        assert_eq!(
            hint(
                "@@LOAD compartment=exit-five base=0x1000000 entry=0x1001c60 span=0x16000",
                &modules
            )
            .as_deref(),
            Some("gdb: add-symbol-file /t/exit-five -o 0x1000000")
        );
        for other in [
            "@@LOAD compartment=ghost base=0x1200000 entry=0x1 span=0x1000",
            "@@EXIT compartment=exit-five code=5",
            "[exit-five] @@LOAD compartment=exit-five base=0x0",
        ] {
            assert_eq!(hint(other, &modules), None, "{other}");
        }
        assert!(instructions(1234, Path::new("/k")).contains("target remote 127.0.0.1:1234"));
    }
}
