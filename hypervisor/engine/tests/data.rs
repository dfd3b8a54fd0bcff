//! Provisioned data (`data` lines, modules `DATA-NAME`): read-only in the one view the
//! line names, never executable, never in another view, listed in that view's data
//! directory; a line without its module, or a module without its line, fails the boot.

mod common;

use common::script::world;
use common::{hello, manifest};
use tessera_abi::gate::{data as dir, info};
use tessera_core::layout::DATA_BASE;
use tessera_core::paging::Perms;
use tessera_engine::fake;
use tessera_engine::ids::ViewId;
use tessera_engine::port::Memory as _;

const TEXT: &str = "tessera-manifest 1\n\
                    compartment vault\n\
                    compartment client\n\
                    data key compartment=vault\n\
                    data salt compartment=vault\n";

#[test]
fn data_are_read_only_in_their_view_and_nowhere_else() {
    let key: &[u8] = fake::module(&[0x5a; 40]);
    let salt: &[u8] = fake::module(&[0xa5; 5000]);
    let (w, _) = world(&[
        ("manifest", manifest(TEXT)),
        ("vault", hello()),
        ("client", hello()),
        ("DATA-key", key),
        ("DATA-salt", salt),
    ]);
    let (vault, client) = (w.view(ViewId(0)), w.view(ViewId(1)));
    assert_eq!(w.info_word(ViewId(0), info::DATA), DATA_BASE);
    assert_eq!(w.info_word(ViewId(1), info::DATA), 0);
    let directory = vault.table.translate(&w.mem, DATA_BASE).expect("directory");
    assert_eq!(directory.perms, Perms::R);
    let word = |offset: u64| w.mem.read_u64(directory.hpa + offset);
    assert_eq!(word(dir::COUNT), 2);
    let mut seen = Vec::new();
    for (k, (name, bytes)) in [("key", key), ("salt", salt)].into_iter().enumerate() {
        let entry = dir::ENTRIES + dir::ENTRY_SIZE * k as u64;
        let stored = word(entry + dir::NAME).to_le_bytes();
        assert_eq!(&stored[..name.len()], name.as_bytes());
        assert_eq!(word(entry + dir::LEN), bytes.len() as u64);
        let gpa = word(entry + dir::ADDR);
        seen.push(gpa);
        for offset in (0..bytes.len() as u64).step_by(4096) {
            let t = vault.table.translate(&w.mem, gpa + offset).expect("mapped");
            assert_eq!(t.perms, Perms::R, "{name}: read-only, never executable");
            let page = w.mem.page(t.hpa & !0xfff).expect("L1's");
            let at = offset as usize;
            let len = (bytes.len() - at).min(4096);
            assert_eq!(&page[..len], &bytes[at..at + len], "{name} at {offset:#x}");
        }
        assert!(
            client.table.translate(&w.mem, gpa).is_none(),
            "{name} in client"
        );
    }
    assert!(client.table.translate(&w.mem, DATA_BASE).is_none());
    // A guard page after each entry: 40 bytes take one page, then nothing.
    assert!(vault.table.translate(&w.mem, seen[0] + 0x1000).is_none());
}

#[test]
fn a_data_line_needs_its_module_and_a_module_its_line() {
    let key: &[u8] = fake::module(b"k");
    let missing = fake::world(
        &[
            ("manifest", manifest(TEXT)),
            ("vault", hello()),
            ("client", hello()),
            ("DATA-key", key),
        ],
        common::MEMORY,
    );
    let e = missing.expect_err("no module for salt");
    assert!(e.contains("no module is called 'DATA-salt'"), "{e}");
    let stray = fake::world(
        &[
            (
                "manifest",
                manifest("tessera-manifest 1\ncompartment vault\n"),
            ),
            ("vault", hello()),
            ("DATA-key", key),
        ],
        common::MEMORY,
    );
    let e = stray.expect_err("an undeclared data module");
    assert!(e.contains("'DATA-key' is not a data line"), "{e}");
}

#[test]
fn data_too_large_for_the_window_fail_the_boot() {
    let huge: &[u8] = fake::module(&vec![0u8; 1 << 20]);
    let text = "tessera-manifest 1\ncompartment vault\ndata key compartment=vault\n";
    let e = fake::world(
        &[
            ("manifest", manifest(text)),
            ("vault", hello()),
            ("DATA-key", huge),
        ],
        common::MEMORY,
    )
    .expect_err("1 MiB does not fit");
    assert!(e.contains("data 'key' of 'vault' does not fit"), "{e}");
}
