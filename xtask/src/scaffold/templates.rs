//! The text of every file `cargo xtask new` writes, as pure functions of the app.
//!
//! Modelled on `examples/pingpong` (a callee that exports, a caller that imports) and on
//! `examples/vault/vault` (a library without the SDK, so its tests run on the host).

use super::App;

/// The export the callee defines and the caller calls.
pub const EXPORT: &str = "greet";
/// What the caller passes, and what it expects back (`greet(n) = n + 1`).
pub const ARGUMENT: u64 = 41;

/// `examples/APP/tessera.toml`: the callee, the caller, then the others in the order
/// given (the order is the order the `main`s run in; exports come from each image's
/// export table at load, so a call works whatever the order).
pub fn tessera_toml(app: &App) -> String {
    let (caller, callee) = (app.caller(), app.callee());
    let mut text = format!(
        "# {name}, made by `cargo xtask new {name} --compartments {list}`: {caller}'s main\n\
         # calls {callee}'s export `{EXPORT}` through a gate and prints the answer. Boot it with\n\
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
         \n\
         [lints]\n\
         workspace = true\n"
    )
}

/// The callee's `src/lib.rs`: the logic behind its export, with a host test.
pub fn callee_lib(app: &App) -> String {
    let callee = app.callee();
    format!(
        "//! {callee}'s logic as plain Rust, without the SDK, so `cargo xtask test` (or\n\
         //! `cargo test -p {package} --lib`) runs its tests on the host. src/main.rs exports\n\
         //! it to the other compartments.\n\
         #![cfg_attr(not(test), no_std)]\n\
         \n\
         /// The answer of {callee}'s `{EXPORT}` export: `n + 1` (wrapping, so no caller can make\n\
         /// it panic).\n\
         pub fn {EXPORT}(n: u64) -> u64 {{\n\
         \x20   n.wrapping_add(1)\n\
         }}\n\
         \n\
         #[cfg(test)]\n\
         mod tests {{\n\
         \x20   use super::*;\n\
         \n\
         \x20   #[test]\n\
         \x20   fn {EXPORT}_adds_one() {{\n\
         \x20       assert_eq!({EXPORT}({ARGUMENT}), {answer});\n\
         \x20       assert_eq!({EXPORT}(u64::MAX), 0);\n\
         \x20   }}\n\
         }}\n",
        package = app.package(callee),
        answer = ARGUMENT + 1,
    )
}

/// The callee's `src/main.rs`: exports `greet`, then its `main` says it is ready.
pub fn callee_main(app: &App) -> String {
    let callee = app.callee();
    format!(
        "{header}\
         tessera_sdk::exports! {{\n\
         \x20   /// `n + 1`, from the host-tested library (src/lib.rs).\n\
         \x20   fn {EXPORT}(n: u64) -> u64 {{\n\
         \x20       {krate}::{EXPORT}(n)\n\
         \x20   }}\n\
         }}\n\
         \n\
         fn main() -> i32 {{\n\
         \x20   println!(\"{callee}: ready\");\n\
         \x20   0\n\
         }}\n",
        header = header(
            app,
            callee,
            &format!("exports `{EXPORT}` (declared in ../tessera.toml)")
        ),
        krate = app.package(callee).replace('-', "_"),
    )
}

/// The caller's `src/main.rs`: calls the callee's `greet` and checks the answer.
pub fn caller_main(app: &App) -> String {
    let (caller, callee) = (app.caller(), app.callee());
    let module = App::module_ident(callee);
    let import = if module == callee {
        module.clone()
    } else {
        format!("{module} = \"{callee}\"")
    };
    format!(
        "{header}\
         // The exports of {callee} that {caller} calls (`calls = [\"{callee}\"]` in ../tessera.toml).\n\
         tessera_sdk::import! {{\n\
         \x20   {import} {{\n\
         \x20       fn {EXPORT}(n: u64) -> u64;\n\
         \x20   }}\n\
         }}\n\
         \n\
         fn main() -> i32 {{\n\
         \x20   match {module}::{EXPORT}({ARGUMENT}) {{\n\
         \x20       Ok(answer) => {{\n\
         \x20           println!(\"{caller}: {callee}.{EXPORT}({ARGUMENT}) = {{answer}}\");\n\
         \x20           if answer == {answer} {{ 0 }} else {{ 1 }}\n\
         \x20       }}\n\
         \x20       Err(e) => {{\n\
         \x20           println!(\"{caller}: {callee}.{EXPORT}({ARGUMENT}) failed: {{e}}\");\n\
         \x20           2\n\
         \x20       }}\n\
         \x20   }}\n\
         }}\n",
        header = header(
            app,
            caller,
            &format!("calls {callee}'s `{EXPORT}` through the gate and prints the answer")
        ),
        answer = ARGUMENT + 1,
    )
}

/// `src/main.rs` of a third or later compartment: prints a line and exits 0.
pub fn other_main(app: &App, compartment: &str) -> String {
    format!(
        "{header}\
         // To serve others: `exports = [...]` in ../tessera.toml and `tessera_sdk::exports!`\n\
         // here; to call them: `calls = [...]` there and `tessera_sdk::import!` here.\n\
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
