//! The text of every file `cargo xtask new` writes, as pure functions of the app.
//!
//! Modelled on `examples/kvstore` (an interface crate both sides use, a callee that serves
//! it, a caller that calls its stubs with a string and gets one back) and on
//! `examples/vault/vault` (a library without the SDK, so its tests run on the host).

use super::App;

/// The export the callee defines and the caller calls.
pub const EXPORT: &str = "greet";
/// What the caller passes (its own name is added), and the greeting's start.
pub const GREETING: &str = "Hello";

/// `examples/APP/tessera.toml`: the callee, the caller, then the others in the order
/// given (the order is the order the `main`s run in; exports come from each image's
/// export table at load, so a call works whatever the order).
pub fn tessera_toml(app: &App) -> String {
    let (caller, callee) = (app.caller(), app.callee());
    let mut text = format!(
        "# {name}, made by `cargo xtask new {name} --compartments {list}`: {caller}'s main\n\
         # calls {callee}'s `{EXPORT}` (declared once in interface/src/lib.rs) through a gate\n\
         # with a string, and prints the string it gets back. Boot it with\n\
         # `cargo xtask run --example {name}`; `cargo xtask test` runs its host tests.\n\
         # Every key: docs/manifest.md.\n\
         #\n\
         # Compartments' `main`s run in this order; {callee}'s export is in its image's export\n\
         # table, so it can be called before {callee}'s own `main` has run.\n",
        name = app.name,
        list = app.compartments.join(","),
    );
    for compartment in app.declared_order() {
        let comment = format!(
            "# crate in examples/{}/{compartment}/, package \"{}\"",
            app.name,
            app.package(compartment)
        );
        text.push_str(&format!(
            "\n[[compartment]]\n{:<23} {comment}\n",
            format!("name = \"{compartment}\"")
        ));
        if compartment == callee {
            text.push_str(&format!("exports = [\"{EXPORT}\"]\n"));
        } else if compartment == caller {
            text.push_str(&format!("calls = [\"{callee}\"]\n"));
        }
    }
    text
}

/// `examples/APP/NAME/Cargo.toml`. The callee's package also has a library
/// (`src/lib.rs`, found by cargo), which the binary uses and the host tests.
pub fn cargo_toml(app: &App, compartment: &str) -> String {
    let package = app.package(compartment);
    let layout = if compartment == app.callee() {
        "# src/lib.rs: plain Rust without the SDK, tested on the host (`cargo xtask test`).\n\
         # src/main.rs: the compartment image, built only for x86_64-unknown-none.\n"
    } else {
        "# A compartment image: built only for x86_64-unknown-none, never tested on the host.\n"
    };
    format!(
        "[package]\n\
         name = \"{package}\"\n\
         version.workspace = true\n\
         edition.workspace = true\n\
         publish = false\n\
         \n\
         {layout}\
         [[bin]]\n\
         name = \"{package}\"\n\
         test = false\n\
         bench = false\n\
         \n\
         [dependencies]\n\
         tessera-sdk.workspace = true\n\
         {interface} = {{ path = \"../interface\" }}\n\
         \n\
         [lints]\n\
         workspace = true\n",
        interface = app.interface_package(),
    )
}

/// `examples/APP/interface/Cargo.toml`: the interface crate both sides depend on.
pub fn interface_cargo_toml(app: &App) -> String {
    format!(
        "[package]\n\
         name = \"{package}\"\n\
         version.workspace = true\n\
         edition.workspace = true\n\
         publish = false\n\
         \n\
         # The interfaces of {name}'s compartments, declared once (tessera_sdk::interface!).\n\
         # Built only into the compartments (x86_64-unknown-none).\n\
         [lib]\n\
         test = false\n\
         doctest = false\n\
         bench = false\n\
         \n\
         [dependencies]\n\
         tessera-sdk.workspace = true\n\
         # For #[derive(Serialize, Deserialize)] on types the interface passes.\n\
         serde = {{ version = \"1\", default-features = false, features = [\"derive\", \"alloc\"] }}\n\
         \n\
         [lints]\n\
         workspace = true\n",
        package = app.interface_package(),
        name = app.name,
    )
}

/// `examples/APP/interface/src/lib.rs`: the callee's interface.
pub fn interface_lib(app: &App) -> String {
    let callee = app.callee();
    format!(
        "//! The interfaces of {name}'s compartments, declared once: {callee} implements\n\
         //! `{module}::{tr}` and exports it with `tessera_sdk::serve!`; the others call the\n\
         //! stubs (`{module}::{EXPORT}`). Names, arguments and results are checked by the\n\
         //! compiler on both sides; `cargo xtask` checks the calls against ../tessera.toml.\n\
         #![no_std]\n\
         \n\
         extern crate alloc;\n\
         \n\
         use alloc::string::String;\n\
         \n\
         tessera_sdk::interface! {{\n\
         \x20   /// What {callee} serves (module, trait, compartment name).\n\
         \x20   pub mod {module}: {tr} = \"{callee}\" {{\n\
         \x20       /// A greeting for `name`.\n\
         \x20       fn {EXPORT}(name: &str) -> String;\n\
         \x20   }}\n\
         }}\n",
        name = app.name,
        module = App::module_ident(callee),
        tr = App::trait_ident(callee),
    )
}

/// The callee's `src/lib.rs`: the logic behind its export, with a host test.
pub fn callee_lib(app: &App) -> String {
    let callee = app.callee();
    format!(
        "//! {callee}'s logic as plain Rust, without the SDK, so `cargo xtask test` (or\n\
         //! `cargo test -p {package} --lib`) runs its tests on the host. src/main.rs serves\n\
         //! it to the other compartments.\n\
         #![cfg_attr(not(test), no_std)]\n\
         \n\
         extern crate alloc;\n\
         \n\
         use alloc::format;\n\
         use alloc::string::String;\n\
         \n\
         /// The answer of {callee}'s `{EXPORT}`.\n\
         pub fn {EXPORT}(name: &str) -> String {{\n\
         \x20   format!(\"{GREETING}, {{name}}!\")\n\
         }}\n\
         \n\
         #[cfg(test)]\n\
         mod tests {{\n\
         \x20   use super::*;\n\
         \n\
         \x20   #[test]\n\
         \x20   fn {EXPORT}_greets_by_name() {{\n\
         \x20       assert_eq!({EXPORT}(\"world\"), \"{GREETING}, world!\");\n\
         \x20   }}\n\
         }}\n",
        package = app.package(callee),
    )
}

/// The callee's `src/main.rs`: serves the interface, then its `main` says it is ready.
pub fn callee_main(app: &App) -> String {
    let callee = app.callee();
    let module = App::module_ident(callee);
    format!(
        "{header}\
         use {interface}::{module}::{tr};\n\
         \n\
         /// {callee}'s state (none yet): created with `Default` on the first call.\n\
         #[derive(Default)]\n\
         struct Server;\n\
         \n\
         impl {tr} for Server {{\n\
         \x20   fn {EXPORT}(&mut self, name: &str) -> String {{\n\
         \x20       {krate}::{EXPORT}(name)\n\
         \x20   }}\n\
         }}\n\
         \n\
         // Exports every function of the interface (each must be in `exports` in ../tessera.toml).\n\
         tessera_sdk::serve!({interface}::{module}, Server);\n\
         \n\
         fn main() -> i32 {{\n\
         \x20   println!(\"{callee}: ready\");\n\
         \x20   0\n\
         }}\n",
        header = header(
            app,
            callee,
            &format!("serves `{EXPORT}` (../interface/src/lib.rs)")
        ),
        interface = app.interface_package().replace('-', "_"),
        tr = App::trait_ident(callee),
        krate = app.package(callee).replace('-', "_"),
    )
}

/// The caller's `src/main.rs`: calls the callee's `greet` with a string and checks the
/// answer.
pub fn caller_main(app: &App) -> String {
    let (caller, callee) = (app.caller(), app.callee());
    let module = App::module_ident(callee);
    format!(
        "{header}\
         // {callee}'s interface (`calls = [\"{callee}\"]` in ../tessera.toml lets {caller} call it).\n\
         use {interface}::{module};\n\
         \n\
         fn main() -> i32 {{\n\
         \x20   // Ok(answer), or Err(CallError) if the call itself failed.\n\
         \x20   match {module}::{EXPORT}(\"{caller}\") {{\n\
         \x20       Ok(answer) => {{\n\
         \x20           println!(\"{caller}: {callee}.{EXPORT}(\\\"{caller}\\\") = {{answer}}\");\n\
         \x20           if answer == \"{GREETING}, {caller}!\" {{ 0 }} else {{ 1 }}\n\
         \x20       }}\n\
         \x20       Err(e) => {{\n\
         \x20           println!(\"{caller}: {callee}.{EXPORT} failed: {{e}}\");\n\
         \x20           2\n\
         \x20       }}\n\
         \x20   }}\n\
         }}\n",
        header = header(
            app,
            caller,
            &format!("calls {callee}'s `{EXPORT}` through the gate and prints the answer")
        ),
        interface = app.interface_package().replace('-', "_"),
    )
}

/// `src/main.rs` of a third or later compartment: prints a line and exits 0.
pub fn other_main(app: &App, compartment: &str) -> String {
    format!(
        "{header}\
         // To serve others: declare an interface in ../interface/src/lib.rs, implement it\n\
         // here with `tessera_sdk::serve!`, list its functions in `exports = [...]` in\n\
         // ../tessera.toml; to call them: `calls = [...]` there and the interface's stubs here.\n\
         fn main() -> i32 {{\n\
         \x20   println!(\"{compartment}: hello from my own view\");\n\
         \x20   0\n\
         }}\n",
        header = header(app, compartment, "prints a line and exits 0"),
    )
}

/// The doc comment, attributes, prelude and `entry!` every compartment starts with.
fn header(app: &App, compartment: &str, what: &str) -> String {
    format!(
        "//! The {compartment} compartment of {app}: {what}.\n\
         #![no_std]\n\
         #![no_main]\n\
         \n\
         use tessera_sdk::prelude::*;\n\
         \n\
         tessera_sdk::entry!(main);\n\
         \n",
        app = app.name,
    )
}
