//! Fuzz target `manifest`: the manifest parser (`tessera_core::manifest`), which reads the
//! `manifest` multiboot module at boot.
//!
//! Input: any bytes (the parser takes UTF-8 text, as the kernel passes it). Properties:
//! nothing panics; an error formats; an accepted manifest prints (`to_text`) to text that
//! parses back to the same manifest, and its derived tables (callers, grants) can be
//! computed for every compartment.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_core::manifest::Manifest;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    let manifest = match Manifest::parse(text) {
        Ok(manifest) => manifest,
        Err(error) => {
            assert!(!format!("{error}").is_empty());
            return;
        }
    };
    let printed = manifest.to_text();
    let again = Manifest::parse(&printed)
        .unwrap_or_else(|e| panic!("to_text output does not parse: {e}\n{printed}"));
    assert_eq!(
        again, manifest,
        "round trip changed the manifest:\n{printed}"
    );
    let callers = manifest.all_callers();
    assert_eq!(callers.len(), manifest.compartments.len());
    for (view, decl) in manifest.compartments.iter().enumerate() {
        assert_eq!(manifest.index_of(&decl.name), Some(view));
        for export in &decl.exports {
            assert!(manifest.export_index(view, export).is_some());
        }
        for caller in 0..manifest.compartments.len() {
            let _ = manifest.may_call(caller, view);
        }
        for number in 0..16 {
            let _ = manifest.allows_hypercall(view, number);
        }
    }
});
