use super::*;

fn args(app: &str, compartments: &[&str]) -> NewArgs {
    NewArgs {
        app: app.to_owned(),
        compartments: compartments.iter().map(|c| c.to_string()).collect(),
    }
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// A scratch workspace: a top-level Cargo.toml like the real one, and one example.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xtask-new-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("examples/hello")).unwrap();
    fs::write(dir.join("Cargo.toml"), WORKSPACE).unwrap();
    fs::write(
        dir.join("examples/hello/Cargo.toml"),
        "[package]\nname = \"hello\"\n",
    )
    .unwrap();
    dir
}

const WORKSPACE: &str = "[workspace]\nresolver = \"3\"\nmembers = [\n    \"sdk\",\n    \
    \"examples/hello\",\n    # first-party compartments\n    \"compartments/victim\",\n    \
    \"xtask\",\n]\ndefault-members = [\"xtask\"]\n";

#[test]
fn names_follow_the_manifest_rules_and_errors_name_them() {
    let err = |app: &str, list: &[&str]| format!("{:#}", App::new(app, &names(list)).unwrap_err());
    assert!(err("Demo", &["a", "b"]).contains("app name \"Demo\""));
    assert!(err("1demo", &["a", "b"]).contains("starts with a letter"));
    assert!(err("demo", &["front", "Back"]).contains("compartment name \"Back\""));
    assert!(err("demo", &["front", "manifest"]).contains("\"manifest\": reserved"));
    assert!(err("demo", &["a", "a"]).contains("\"a\": given twice"));
    assert!(err("demo", &["a", &"x".repeat(33)]).contains("longer than 32"));
    assert!(err("demo", &["a", ""]).contains("compartment name \"\": empty"));
    assert!(err("demo", &["solo"]).contains("at least two"));
    assert!(err("demo", &["a", "interface"]).contains("the app's interface crate uses it"));
    let app = App::new("demo", &names(&["front", "my-back", "9"])).unwrap();
    assert_eq!(app.package("my-back"), "demo-my-back");
    assert_eq!(App::module_ident("my-back"), "my_back");
    assert_eq!(App::module_ident("type"), "c_type");
    assert_eq!(App::module_ident("9"), "c_9");
    assert_eq!(App::trait_ident("my-back"), "MyBack");
    assert_eq!(App::trait_ident("type"), "CType");
    assert_eq!(App::trait_ident("9"), "C9");
    assert_eq!(app.interface_package(), "demo-interface");
}

#[test]
fn generates_the_app_and_its_workspace_entries() {
    let root = scratch("generate");
    let dir = generate(&root, &args("demo", &["front", "back", "log"])).unwrap();
    assert_eq!(dir, root.join("examples/demo"));
    let read = |path: &str| fs::read_to_string(dir.join(path)).unwrap();

    // The callee is declared first, the caller calls it, the declaration is valid.
    let toml = read("tessera.toml");
    let d = Declaration::parse("t", Kind::Example("demo".into()), &toml).unwrap();
    assert_eq!(d.packages(), ["demo-back", "demo-front", "demo-log"]);
    assert_eq!(d.compartments[0].exports, ["greet"]);
    assert_eq!(d.compartments[1].calls, ["back"]);
    assert!(d.compartments[2].calls.is_empty());

    let cargo = read("front/Cargo.toml");
    assert!(cargo.contains("name = \"demo-front\"\n"));
    assert!(cargo.contains("tessera-sdk.workspace = true\n"));
    assert!(cargo.contains("demo-interface = { path = \"../interface\" }\n"));
    assert!(cargo.contains("[lints]\nworkspace = true\n"));
    // The interface, declared once; the caller calls its stub, the callee serves it.
    let interface = read("interface/src/lib.rs");
    assert!(
        interface.contains("pub mod back: Back = \"back\" {"),
        "{interface}"
    );
    assert!(
        interface.contains("fn greet(name: &str) -> String;"),
        "{interface}"
    );
    assert!(read("interface/Cargo.toml").contains("name = \"demo-interface\"\n"));
    assert!(read("front/src/main.rs").contains("use demo_interface::back;"));
    assert!(read("front/src/main.rs").contains("match back::greet(\"front\")"));
    assert!(read("front/src/main.rs").contains("tessera_sdk::entry!(main);"));
    assert!(read("back/src/main.rs").contains("impl Back for Server {"));
    assert!(
        read("back/src/main.rs").contains("tessera_sdk::serve!(demo_interface::back, Server);")
    );
    assert!(read("back/src/main.rs").contains("demo_back::greet(name)"));
    assert!(read("back/src/lib.rs").contains("assert_eq!(greet(\"world\"), \"Hello, world!\");"));
    assert!(!dir.join("front/src/lib.rs").exists());
    assert!(read("log/src/main.rs").contains("println!(\"log: hello"));

    // Members follow the last example, comments and the rest untouched.
    let cargo = fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let expected = WORKSPACE.replace(
        "\"examples/hello\",\n",
        "\"examples/hello\",\n    \"examples/demo/interface\",\n    \"examples/demo/front\",\n    \
         \"examples/demo/back\",\n    \"examples/demo/log\",\n",
    );
    assert_eq!(cargo, expected);
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn refuses_an_existing_app_or_package_and_writes_nothing() {
    let root = scratch("refuse");
    let err = generate(&root, &args("hello", &["a", "b"])).unwrap_err();
    assert!(err.to_string().contains("examples/hello exists"), "{err}");
    // An app whose packages would clash with an existing package is refused.
    fs::write(
        root.join("examples/hello/Cargo.toml"),
        "[package]\nname = \"demo-back\"\n",
    )
    .unwrap();
    let err = generate(&root, &args("demo", &["front", "back"])).unwrap_err();
    assert!(
        err.to_string().contains("package demo-back exists"),
        "{err}"
    );
    let bad = generate(&root, &args("demo", &["front", "Back"])).unwrap_err();
    assert!(format!("{bad:#}").contains("\"Back\""));
    assert!(!root.join("examples/demo").exists());
    assert_eq!(
        fs::read_to_string(root.join("Cargo.toml")).unwrap(),
        WORKSPACE
    );
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn members_go_before_the_bracket_without_examples() {
    let text = "[workspace]\nmembers = [\n  \"a\",\n]\n";
    let out = workspace::add_members(text, &names(&["examples/x/y"])).unwrap();
    assert_eq!(
        out,
        "[workspace]\nmembers = [\n  \"a\",\n  \"examples/x/y\",\n]\n"
    );
    let one_line = "[workspace]\nmembers = [\"a\"]\n";
    assert!(workspace::add_members(one_line, &names(&["b"])).is_err());
}
