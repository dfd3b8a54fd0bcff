//! The declaration reader on the docs' examples and on every kind of mistake.

use super::validate::line_column;
use super::*;
use tessera_core::manifest::{Concurrency, Manifest, Restart};

const VAULT: &str = r#"
[[compartment]]
name = "vault"
exports = ["sign", "verify"]

[[compartment]]
name = "client"
calls = ["vault"]
hypercalls = ["exit", "console", "panic", "lookup", "grant"]

[[grant]]
name = "msg"
size = 4096
access = { client = "rw", vault = "r" }
"#;

fn example(text: &str) -> Result<Declaration, DeclarationError> {
    Declaration::parse(
        "examples/vault/tessera.toml",
        Kind::Example("vault".into()),
        text,
    )
}

fn error(text: &str) -> String {
    example(text).unwrap_err().to_string()
}

#[test]
fn the_manifest_docs_example_round_trips() {
    let d = example(VAULT).unwrap();
    assert_eq!(
        d.manifest_text(),
        "tessera-manifest 1\n\
         compartment vault exports=sign,verify\n\
         compartment client calls=vault hypercalls=exit,console,panic,lookup,grant\n\
         grant msg size=4096 client=rw vault=r\n"
    );
    assert_eq!(d.packages(), ["vault-vault", "vault-client"]);
    assert_eq!(Declaration::module_args(&d.compartments[1]), "");
    assert_eq!(Declaration::expected(&d.compartments[1]), Expect::Exit(0));
    assert_eq!(d.kind.label(), "example-vault");
    let parsed = Manifest::parse(&d.manifest_text()).unwrap();
    assert!(parsed.may_call(1, 0) && !parsed.may_call(0, 1));
}

#[test]
fn scenario_packages_are_the_compartment_names_unless_overridden() {
    let d = Declaration::parse(
        "compartments/scenarios/forge/tessera.toml",
        Kind::Scenario("forge".into()),
        r#"
[[compartment]]
name = "victim"
exports = ["get"]
stack = 8192
heap = 1048576

[[grant]]
name = "loot"
size = 8192
access = { victim = "rw", twin = "r", attack-forge = "r" }

[[compartment]]
name = "attack-forge"
calls = ["victim"]
expect = "fault:gate"

[[compartment]]
name = "twin"
package = "victim"
hypercalls = []
expect = "exit:3"
"#,
    )
    .unwrap();
    assert_eq!(d.packages(), ["victim", "attack-forge"]);
    assert_eq!(d.package_of(&d.compartments[2]), "victim");
    assert_eq!(
        Declaration::module_args(&d.compartments[1]),
        "expect=fault:gate"
    );
    assert_eq!(
        Declaration::expected(&d.compartments[1]),
        Expect::Fault(Some("gate".into()))
    );
    assert_eq!(Declaration::expected(&d.compartments[2]), Expect::Exit(3));
    assert_eq!(
        d.manifest_text(),
        "tessera-manifest 1\n\
         compartment victim exports=get stack=8192 heap=1048576\n\
         compartment attack-forge calls=victim\n\
         compartment twin hypercalls=exit,panic\n\
         grant loot size=8192 victim=rw twin=r attack-forge=r\n"
    );
    assert_eq!(d.kind.label(), "scenario-forge");
}

#[test]
fn references_name_the_file_and_the_field() {
    let typo = VAULT.replace(r#"calls = ["vault"]"#, r#"calls = ["valt"]"#);
    assert_eq!(
        error(&typo),
        r#"examples/vault/tessera.toml: compartment[1].calls: no compartment named "valt""#
    );
    let grant = VAULT.replace("vault = \"r\" }", "valt = \"r\" }");
    assert_eq!(
        error(&grant),
        r#"examples/vault/tessera.toml: grant[0].access.valt: no compartment named "valt""#
    );
    let mode = VAULT.replace("vault = \"r\" }", "vault = \"x\" }");
    assert_eq!(
        error(&mode),
        r#"examples/vault/tessera.toml: grant[0].access.vault: "x" is not "r" or "rw""#
    );
    let twice = VAULT.replace(r#"name = "client""#, r#"name = "vault""#);
    assert_eq!(
        error(&twice),
        r#"examples/vault/tessera.toml: compartment[1].name: "vault" is also the name of compartment[0]"#
    );
}

#[test]
fn names_hypercalls_and_expect_are_checked() {
    let upper = VAULT.replace(r#"name = "client""#, r#"name = "Client""#);
    assert!(
        error(&upper).starts_with("examples/vault/tessera.toml: compartment[1].name: "),
        "{}",
        error(&upper)
    );
    let space = VAULT.replace(r#""sign", "verify""#, r#""sign", "ver ify""#);
    assert!(
        error(&space).contains("compartment[0].exports[1]: \"ver ify\" has ' '"),
        "{}",
        error(&space)
    );
    let hypercall = VAULT.replace(r#""lookup", "grant""#, r#""lookup", "grnt""#);
    assert!(
        error(&hypercall)
            .contains(r#"compartment[1].hypercalls[4]: no hypercall named "grnt" (known: exit,"#),
        "{}",
        error(&hypercall)
    );
    let expect = VAULT.replace(
        r#"calls = ["vault"]"#,
        "calls = [\"vault\"]\nexpect = \"crash\"",
    );
    assert_eq!(
        error(&expect),
        "examples/vault/tessera.toml: compartment[1].expect: \
         expect=crash is not one of exit:N, fault, fault:KIND, reject, reject:PROBLEM, aborted"
    );
    assert_eq!(
        error(""),
        "examples/vault/tessera.toml: compartment: declares no compartment \
         (add a [[compartment]] table with a name)"
    );
    let empty_grant = VAULT.replace("access = { client = \"rw\", vault = \"r\" }", "access = {}");
    assert!(
        error(&empty_grant).contains("grant[0].access: names no compartment"),
        "{}",
        error(&empty_grant)
    );
}

#[test]
fn the_kernel_parsers_rules_come_back_as_fields() {
    let stack = VAULT.replace(r#"exports = ["sign", "verify"]"#, "stack = 5000");
    let e = example(&stack).unwrap_err();
    assert_eq!(e.field, "compartment[0].stack");
    assert!(e.problem.contains("5000"), "{e}");
    let heap = VAULT.replace(r#"exports = ["sign", "verify"]"#, "heap = 100000000");
    let e = example(&heap).unwrap_err();
    assert_eq!(e.field, "compartment[0].heap");
    assert!(e.problem.contains("to 67108864 bytes"), "{e}");
    let size = VAULT.replace("size = 4096", "size = 100");
    assert_eq!(example(&size).unwrap_err().field, "grant[0].size");
    let dup = VAULT.replace(r#""sign", "verify""#, r#""sign", "sign""#);
    assert_eq!(example(&dup).unwrap_err().field, "compartment[0].exports");
    let reserved = VAULT.replace(r#"name = "client""#, r#"name = "manifest""#);
    let reserved = reserved.replace("client = \"rw\", ", "");
    assert_eq!(example(&reserved).unwrap_err().field, "compartment[1].name");
    let own = VAULT.replace(r#"calls = ["vault"]"#, r#"calls = ["client"]"#);
    assert_eq!(example(&own).unwrap_err().field, "compartment[1].calls");
}

#[test]
fn limits_reach_the_manifest_and_their_errors_name_the_field() {
    let limits = VAULT.replace(
        r#"calls = ["vault"]"#,
        "calls = [\"vault\"]\nwatchdog = 67108864\nmax_depth = 4\nconsole = 0\ncall_buffer = 8192",
    );
    let d = example(&limits).unwrap();
    assert!(
        d.manifest_text().contains(
            "compartment client calls=vault hypercalls=exit,console,panic,lookup,grant \
             watchdog=67108864 max_depth=4 console=0 call_buffer=8192\n"
        ),
        "{}",
        d.manifest_text()
    );
    let parsed = Manifest::parse(&d.manifest_text()).unwrap();
    let client = &parsed.compartments[1];
    assert_eq!(client.main_watchdog(), Some(1 << 26));
    assert_eq!((client.max_depth, client.console), (4, 0));
    assert_eq!(client.call_buffer, 8192);
    // Left out, nothing is written: the vault's main stays unbounded.
    assert_eq!(parsed.compartments[0].main_watchdog(), None);
    for (key, value, problem) in [
        ("watchdog", "5", "5 is not from 1024 to 1099511627776 ticks"),
        ("max_depth", "33", "33 is not from 1 to 32 activations"),
        (
            "console",
            "16777217",
            "16777217 is not from 0 to 16777216 bytes",
        ),
    ] {
        let bad = VAULT.replace(
            r#"exports = ["sign", "verify"]"#,
            &format!("exports = [\"sign\"]\n{key} = {value}"),
        );
        assert_eq!(
            error(&bad),
            format!("examples/vault/tessera.toml: compartment[0].{key}: {problem}")
        );
    }
    let negative = VAULT.replace(
        r#"calls = ["vault"]"#,
        "calls = [\"vault\"]\nmax_depth = -1",
    );
    assert!(
        error(&negative).starts_with("examples/vault/tessera.toml:9:"),
        "{}",
        error(&negative)
    );
}

#[test]
fn restart_policies_reach_the_manifest_and_their_errors_name_the_field() {
    let on_fault = VAULT.replace(
        r#"calls = ["vault"]"#,
        "calls = [\"vault\"]\nrestart = \"on-fault\"\nmax_restarts = 2",
    );
    let d = example(&on_fault).unwrap();
    assert!(
        d.manifest_text().contains(
            "compartment client calls=vault hypercalls=exit,console,panic,lookup,grant \
             restart=on-fault max_restarts=2\n"
        ),
        "{}",
        d.manifest_text()
    );
    let parsed = Manifest::parse(&d.manifest_text()).unwrap();
    assert_eq!(parsed.compartments[1].restart, Restart::OnFault);
    assert_eq!(parsed.compartments[1].max_restarts, 2);
    assert_eq!(parsed.compartments[0].restart, Restart::Never);
    let bad = VAULT.replace(
        r#"calls = ["vault"]"#,
        "calls = [\"vault\"]\nrestart = \"always\"",
    );
    assert_eq!(
        error(&bad),
        "examples/vault/tessera.toml: compartment[1].restart: 'always' is not never or on-fault"
    );
    let alone = VAULT.replace(
        r#"calls = ["vault"]"#,
        "calls = [\"vault\"]\nmax_restarts = 2",
    );
    assert!(
        error(&alone).ends_with("compartment[1].max_restarts: needs restart=on-fault (a compartment that is never restarted has no limit)"),
        "{}",
        error(&alone)
    );
}

#[test]
fn concurrency_and_cpu_reach_the_manifest_and_their_errors_name_the_field() {
    let placed = VAULT.replace(
        r#"calls = ["vault"]"#,
        "calls = [\"vault\"]\nconcurrency = \"parallel\"\ncpu = 3",
    );
    let d = example(&placed).unwrap();
    assert!(
        d.manifest_text().contains(
            "compartment client calls=vault hypercalls=exit,console,panic,lookup,grant \
             concurrency=parallel cpu=3\n"
        ),
        "{}",
        d.manifest_text()
    );
    let parsed = Manifest::parse(&d.manifest_text()).unwrap();
    assert_eq!(parsed.compartments[1].concurrency, Concurrency::Parallel);
    assert_eq!(parsed.compartments[1].cpu, 3);
    assert_eq!(parsed.compartments[0].concurrency, Concurrency::Serial);
    assert_eq!(parsed.compartments[0].cpu, 0);
    for (field, value, problem) in [
        (
            "concurrency",
            "\"both\"",
            "'both' is not serial or parallel",
        ),
        (
            "cpu",
            "16",
            "16 is not from 0 to 15 (a 0-based vCPU index, or all)",
        ),
        (
            "cpu",
            "\"some\"",
            "'some' is not a vCPU index (0-based) or all",
        ),
        (
            "cpu",
            "\"all\"",
            "cpu=all needs concurrency=parallel (its main runs on every vCPU at once)",
        ),
    ] {
        let bad = VAULT.replace(
            r#"calls = ["vault"]"#,
            &format!("calls = [\"vault\"]\n{field} = {value}"),
        );
        assert_eq!(
            error(&bad),
            format!("examples/vault/tessera.toml: compartment[1].{field}: {problem}")
        );
    }
}

#[test]
fn data_entries_reach_the_manifest_and_their_errors_name_the_field() {
    let with = |compartment: &str, name: &str| {
        format!(
            "{VAULT}\n[[data]]\nname = \"{name}\"\ncompartment = \"{compartment}\"\nfile = \"key.bin\"\n"
        )
    };
    let d = example(&with("vault", "key")).unwrap();
    assert_eq!(d.data[0].file, "key.bin");
    assert!(
        d.manifest_text().ends_with("data key compartment=vault\n"),
        "{}",
        d.manifest_text()
    );
    assert_eq!(
        error(&with("valt", "key")),
        "examples/vault/tessera.toml: data[0].compartment: compartment 'valt' does not exist"
    );
    assert!(
        error(&with("vault", "Key")).starts_with("examples/vault/tessera.toml: data[0].name: "),
        "{}",
        error(&with("vault", "Key"))
    );
    let unknown = format!("{}mode = \"r\"\n", with("vault", "key"));
    assert!(
        error(&unknown).contains("unknown field `mode`"),
        "{}",
        error(&unknown)
    );
}

#[test]
fn toml_errors_give_line_and_column() {
    let unknown = VAULT.replace("exports = [", "export = [");
    let e = error(&unknown);
    assert!(
        e.starts_with("examples/vault/tessera.toml:4:1: unknown field `export`"),
        "{e}"
    );
    let wrong_type = VAULT.replace("size = 4096", "size = \"4096\"");
    let e = error(&wrong_type);
    assert!(e.starts_with("examples/vault/tessera.toml:13:8: "), "{e}");
    let no_name = "[[compartment]]\nexports = [\"x\"]\n";
    let e = error(no_name);
    assert!(e.contains("missing field `name`"), "{e}");
}

#[test]
fn line_columns_are_one_based() {
    assert_eq!(line_column("ab\ncd", 0), (1, 1));
    assert_eq!(line_column("ab\ncd", 4), (2, 2));
    assert_eq!(line_column("ab\n", 99), (2, 1));
}
