use super::*;
use crate::declaration::Kind;
use std::collections::HashMap;
use std::path::PathBuf;

const KV: &str = r#"
[[compartment]]
name = "store"
exports = ["put", "get"]

[[compartment]]
name = "frontend"
calls = ["store"]
"#;

fn declaration(text: &str) -> Declaration {
    Declaration::parse("examples/kv/tessera.toml", Kind::Example("kv".into()), text).expect("valid")
}

fn import(compartment: &str, export: &str, fingerprint: u64) -> Import {
    Import {
        compartment: compartment.into(),
        export: export.into(),
        fingerprint,
    }
}

/// `kv-store` serves put and get (fingerprints 1, 2); `kv-frontend` imports `imports`.
fn images(imports: &[Import]) -> impl Fn(&str) -> Result<Notes> {
    let mut by_package = HashMap::new();
    by_package.insert(
        "kv-store".to_owned(),
        Notes {
            imports: BTreeSet::new(),
            signatures: [("put".into(), 1), ("get".into(), 2)].into(),
        },
    );
    by_package.insert(
        "kv-frontend".to_owned(),
        Notes {
            imports: imports.iter().cloned().collect(),
            signatures: BTreeSet::new(),
        },
    );
    move |package: &str| Ok(by_package.get(package).cloned().unwrap_or_default())
}

fn error(text: &str, imports: &[Import]) -> String {
    format!(
        "{:#}",
        check(&declaration(text), images(imports)).expect_err("refused")
    )
}

#[test]
fn imports_the_declaration_allows_and_the_callee_serves_pass() {
    let imports = [import("store", "put", 1), import("store", "get", 2)];
    check(&declaration(KV), images(&imports)).expect("allowed");
}

#[test]
fn an_import_of_a_compartment_not_in_calls_names_the_calls_field() {
    let text = KV.replace("calls = [\"store\"]\n", "");
    assert_eq!(
        error(&text, &[import("store", "get", 2)]),
        "examples/kv/tessera.toml: compartment[1].calls: compartment \"frontend\": calls lacks \
         \"store\" (its code imports store.get)"
    );
}

#[test]
fn an_import_of_an_export_not_declared_names_the_callees_exports_field() {
    let text = KV.replace("[\"put\", \"get\"]", "[\"put\"]");
    assert_eq!(
        error(&text, &[import("store", "get", 2)]),
        "examples/kv/tessera.toml: compartment[0].exports: compartment \"store\": exports lacks \
         \"get\" (compartment \"frontend\"'s code imports store.get)"
    );
}

#[test]
fn a_fingerprint_mismatch_or_an_unserved_export_is_refused() {
    let err = error(KV, &[import("store", "get", 3)]);
    assert!(
        err.starts_with(
            "examples/kv/tessera.toml: compartment[0]: compartment \"store\" serves get"
        ),
        "{err}"
    );
    assert!(err.contains("different versions of the interface"), "{err}");
    let text = KV.replace("[\"put\", \"get\"]", "[\"put\", \"get\", \"del\"]");
    let err = error(&text, &[import("store", "del", 4)]);
    assert!(
        err.contains("does not serve del from an interface"),
        "{err}"
    );
}

#[test]
fn import_descriptors_are_fingerprint_compartment_nul_export() {
    let mut desc = 0x1122_3344_5566_7788u64.to_le_bytes().to_vec();
    desc.extend_from_slice(b"store\0get");
    assert_eq!(
        parse_import(&desc),
        Some(import("store", "get", 0x1122_3344_5566_7788))
    );
    assert_eq!(parse_import(&desc[..7]), None, "short");
    assert_eq!(parse_import(&desc[..13]), None, "no NUL");
}

#[test]
fn an_image_without_typed_calls_has_no_import_or_signature_notes() {
    // pong.elf: the export note of `pong` (exports!, untyped), entry and ABI notes.
    let pong = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../hypervisor/core/tests/fixtures/elf/pong.elf");
    assert_eq!(read(&pong).expect("readable"), Notes::default());
}
