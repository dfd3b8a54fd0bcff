//! APP_REPORT through the run loop on the fake backend: a compartment's own `@@APP` line,
//! printed in the name of the view that made the call, its values escaped, refused when
//! a key is not the compartment's to write, and paid for from its console budget; and
//! REPORT's answer to a word of one's own.

mod common;

use common::script::{FakeWorld, Step, call, exit0, put, result, run, world};
use common::{hello, manifest};
use core::fmt::Display;
use tessera_abi::hypercall::app::Writer;
use tessera_abi::{error, hypercall as nr};
use tessera_engine::verdict::Verdict;

/// An APP_REPORT buffer as the SDK builds it.
fn buffer(pairs: &[(&str, &dyn Display)]) -> Vec<u8> {
    let mut writer = Writer::<{ nr::REPORT_MAX as usize }>::new();
    for (key, value) in pairs {
        writer.push(key, value).expect("a pair the SDK sends");
    }
    writer.as_bytes().to_vec()
}

/// Such a buffer put in view 0 at `at`: `[address, length]`.
fn pairs(w: &mut FakeWorld, at: u64, pairs: &[(&str, &dyn Display)]) -> [u64; 2] {
    raw(w, at, &buffer(pairs))
}

/// Bytes put in view 0 at `at`, as the buffer of a call: `[address, length]`.
fn raw(w: &mut FakeWorld, at: u64, bytes: &[u8]) -> [u64; 2] {
    [put(w, 0, at, bytes), bytes.len() as u64]
}

fn app([ptr, len]: [u64; 2]) -> Step {
    call(nr::APP_REPORT, [ptr, len, 0, 0])
}

#[test]
fn a_good_line_is_printed_with_the_callers_name_first_and_values_escaped() {
    let (mut w, lines) = world(&[("kv", hello())]);
    let line = pairs(
        &mut w,
        0,
        &[
            ("op", &"put"),
            ("rx.bytes", &4096),
            ("key", &"a b=c\n@@RESULT pass"),
        ],
    );
    let empty = raw(&mut w, 0x200, &[]);
    let (verdict, cpu) = run(&mut w, vec![app(line), app(empty), exit0()]);
    assert_eq!(verdict, Verdict::Pass, "{:?}", lines.all());
    assert_eq!(result(&cpu, 0), 0);
    assert_eq!(result(&cpu, 1), 0);
    assert_eq!(
        lines.records("APP"),
        [
            "@@APP compartment=kv op=put rx.bytes=4096 key=a%20b%3Dc%0A@@RESULT%20pass",
            "@@APP compartment=kv",
        ]
    );
    // The engine prints no @@RESULT (the kernel does): any here would be forged.
    assert!(lines.records("RESULT").is_empty(), "{:?}", lines.all());
}

#[test]
fn identity_and_bad_keys_are_refused_and_nothing_is_printed() {
    let (mut w, lines) = world(&[("a", hello())]);
    let pair = |key: &[u8], value: &[u8]| {
        let mut b = vec![key.len() as u8];
        b.extend_from_slice(key);
        b.extend_from_slice(&(value.len() as u16).to_le_bytes());
        b.extend_from_slice(value);
        b
    };
    let mut forged = pair(b"n", b"1");
    forged.extend(pair(b"compartment", b"victim"));
    let calls = [
        (raw(&mut w, 0, &forged), error::IDENTITY_KEY),
        (raw(&mut w, 0x100, &pair(b"cpu", b"0")), error::IDENTITY_KEY),
        (raw(&mut w, 0x200, &pair(b"Op", b"x")), error::BAD_REPORT),
        (raw(&mut w, 0x300, &pair(b"op-x", b"x")), error::BAD_REPORT),
        (raw(&mut w, 0x400, &pair(b"v", b"\xff")), error::BAD_REPORT),
        (
            raw(&mut w, 0x500, &[1, b'n', 9, 0, b'x']),
            error::BAD_REPORT,
        ),
        ([0x2_0000_0000, 4], error::BAD_POINTER),
        (raw(&mut w, 0x600, &[0; 1025]), error::TOO_LARGE),
    ];
    let mut script: Vec<_> = calls.iter().map(|(buf, _)| app(*buf)).collect();
    script.push(exit0());
    let (verdict, cpu) = run(&mut w, script);
    assert_eq!(verdict, Verdict::Pass, "{:?}", lines.all());
    for (k, (_, code)) in calls.iter().enumerate() {
        assert_eq!(result(&cpu, k), *code, "call {k}");
    }
    assert!(lines.records("APP").is_empty(), "{:?}", lines.all());
}

#[test]
fn lines_are_charged_to_the_console_budget() {
    // "@@APP compartment=a n=1" and its newline: 24 bytes; the budget pays for two.
    let text = "tessera-manifest 1\ncompartment a console=48\n";
    let (mut w, lines) = world(&[("manifest", manifest(text)), ("a", hello())]);
    let line = pairs(&mut w, 0, &[("n", &1)]);
    let hi = put(&mut w, 0, 0x200, b"hi\n");
    let script = vec![
        app(line),
        app(line),
        app(line),
        call(nr::CONSOLE_WRITE, [hi, 3, 0, 0]),
        exit0(),
    ];
    let (verdict, cpu) = run(&mut w, script);
    assert_eq!(verdict, Verdict::Pass, "{:?}", lines.all());
    assert_eq!(result(&cpu, 0), 0);
    assert_eq!(result(&cpu, 1), 0);
    assert_eq!(result(&cpu, 2), error::OVER_BUDGET);
    assert_eq!(result(&cpu, 3), error::OVER_BUDGET);
    assert_eq!(lines.records("APP").len(), 2, "{:?}", lines.all());
    assert_eq!(lines.records("TRUNCATED"), ["@@TRUNCATED compartment=a"]);
}

#[test]
fn app_report_is_its_own_manifest_permission() {
    let text = "tessera-manifest 1\ncompartment a hypercalls=exit,report\n\
                compartment b hypercalls=exit,app_report\n";
    let (mut w, lines) = world(&[("manifest", manifest(text)), ("a", hello()), ("b", hello())]);
    let line = pairs(&mut w, 0, &[("n", &1)]);
    let bytes = buffer(&[("n", &1)]);
    let in_b = [put(&mut w, 1, 0, &bytes), bytes.len() as u64];
    let script = vec![app(line), exit0(), app(in_b), exit0()];
    let (verdict, cpu) = run(&mut w, script);
    assert_eq!(verdict, Verdict::Pass, "{:?}", lines.all());
    assert_eq!(result(&cpu, 0), error::NOT_PERMITTED);
    // Entries 2 and 3 start b's main.
    assert_eq!(cpu.entered_with[3].rax as i64, 0);
    assert_eq!(lines.records("APP"), ["@@APP compartment=b n=1"]);
}

#[test]
fn a_report_word_of_ones_own_is_no_such_word() {
    let (mut w, lines) = world(&[("a", hello())]);
    let kv = raw(&mut w, 0, b"KV puts=3");
    let app_word = raw(&mut w, 0x100, b"APP n=1");
    let script = vec![
        call(nr::REPORT, [kv[0], kv[1], 0, 0]),
        call(nr::REPORT, [app_word[0], app_word[1], 0, 0]),
        exit0(),
    ];
    let (_, cpu) = run(&mut w, script);
    assert_eq!(result(&cpu, 0), error::NO_SUCH_WORD);
    assert_eq!(result(&cpu, 1), error::NO_SUCH_WORD);
    assert!(lines.records("KV").is_empty() && lines.records("APP").is_empty());
}
