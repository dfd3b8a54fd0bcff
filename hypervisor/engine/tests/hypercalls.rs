//! Every hypercall through the run loop on the fake backend: arguments read from the
//! caller's own memory (guest-virtual), results in the registers of the next entry.

mod common;

use common::script::{call, exit0, put, result, run, world};
use common::{PONG, hello, manifest, pong};
use tessera_abi::{error, gate::info, hypercall as nr};
use tessera_core::exit::VmExit;
use tessera_core::outcome::Outcome;
use tessera_engine::fake::backend::Step;
use tessera_engine::ids::ViewId;
use tessera_engine::verdict::Verdict;

#[test]
fn console_write_prints_whole_escaped_lines_and_checks_its_buffer() {
    let (mut w, lines) = world(&[("a", hello())]);
    let text = put(&mut w, 0, 0, b"hi \x1b[2J\nrest");
    let script = vec![
        call(nr::CONSOLE_WRITE, [text, 12, 0, 0]),
        call(nr::CONSOLE_WRITE, [0x2_0000_0000, 4, 0, 0]),
        call(nr::CONSOLE_WRITE, [text, nr::CONSOLE_WRITE_MAX + 1, 0, 0]),
        exit0(),
    ];
    let (verdict, cpu) = run(&mut w, script);
    assert_eq!(verdict, Verdict::Pass, "{:?}", lines.all());
    assert_eq!(result(&cpu, 0), 12);
    assert_eq!(result(&cpu, 1), error::BAD_POINTER);
    assert_eq!(result(&cpu, 2), error::TOO_LARGE);
    assert!(lines.has("[a] hi \\x1b[2J"), "{:?}", lines.all());
    assert!(lines.has("[a] rest"), "flushed at exit: {:?}", lines.all());
}

#[test]
fn a_buffer_outside_the_callers_view_is_a_bad_pointer() {
    let (mut w, _) = world(&[("a", hello()), ("b", hello())]);
    let in_b = put(&mut w, 1, 0, b"secret");
    let script = vec![call(nr::CONSOLE_WRITE, [in_b, 6, 0, 0]), exit0(), exit0()];
    let (_, cpu) = run(&mut w, script);
    assert_eq!(result(&cpu, 0), error::BAD_POINTER);
}

#[test]
fn report_prints_in_the_callers_name_and_refuses_identities() {
    let (mut w, lines) = world(&[("a", hello())]);
    let good = put(&mut w, 0, 0, b"ROUNDTRIPS n=5");
    let forged = put(&mut w, 0, 0x100, b"ROUNDTRIPS compartment=b");
    let script = vec![
        call(nr::REPORT, [good, 14, 0, 0]),
        call(nr::REPORT, [forged, 24, 0, 0]),
        exit0(),
    ];
    let (_, cpu) = run(&mut w, script);
    assert_eq!(result(&cpu, 0), 0);
    assert_eq!(result(&cpu, 1), error::IDENTITY_KEY);
    assert_eq!(
        lines.records("ROUNDTRIPS"),
        ["@@ROUNDTRIPS compartment=a n=5"]
    );
}

#[test]
fn exit_count_counts_every_exit_so_far() {
    let (mut w, _) = world(&[("a", hello())]);
    let script = vec![
        Step::exit(VmExit::Interrupt),
        call(nr::EXIT_COUNT, [0; 4]),
        exit0(),
    ];
    let (_, cpu) = run(&mut w, script);
    assert_eq!(cpu.entered_with[2].rax, 2);
}

#[test]
fn register_export_changes_nothing_and_accepts_only_the_tables_address() {
    let text = "tessera-manifest 1\ncompartment a exports=pong\n";
    let (mut w, _) = world(&[("manifest", manifest(text)), ("a", pong())]);
    let base = w.view(ViewId(0)).region.base;
    let (entry, _) = w.view(ViewId(0)).start().expect("image");
    let f = put(&mut w, 0, 0, b"pong");
    let g = put(&mut w, 0, 8, b"g");
    let data = base + 0x5c70;
    let script = vec![
        call(nr::REGISTER_EXPORT, [f, 4, base + PONG, 0]),
        call(nr::REGISTER_EXPORT, [f, 4, entry, 0]),
        call(nr::REGISTER_EXPORT, [g, 1, entry, 0]),
        call(nr::REGISTER_EXPORT, [f, 4, data, 0]),
        call(nr::REGISTER_EXPORT, [f, 65, entry, 0]),
        exit0(),
    ];
    let (_, cpu) = run(&mut w, script);
    assert_eq!(result(&cpu, 0), 0, "the table's own address: a no-op");
    assert_eq!(result(&cpu, 1), error::BAD_STATE, "other code: refused");
    assert_eq!(result(&cpu, 2), error::NO_SUCH_EXPORT);
    assert_eq!(result(&cpu, 3), error::BAD_POINTER);
    assert_eq!(result(&cpu, 4), error::TOO_LARGE);
    assert_eq!(w.info_word(ViewId(0), info::EXPORTS), base + PONG);
}

#[test]
fn lookup_and_grant_answer_what_the_manifest_allows() {
    let text = "tessera-manifest 1\ncompartment a calls=b\ncompartment b exports=pong\n\
                grant buf size=4096 a=rw\n";
    let (mut w, _) = world(&[("manifest", manifest(text)), ("a", hello()), ("b", pong())]);
    let b = put(&mut w, 0, 0, b"b");
    let f = put(&mut w, 0, 8, b"pong");
    let a = put(&mut w, 1, 0, b"a");
    let buf = put(&mut w, 0, 16, b"buf");
    let nothing = put(&mut w, 1, 8, b"f");
    let script = vec![
        call(nr::LOOKUP, [b, 1, f, 4]),
        call(nr::GRANT, [buf, 3, 0, 0]),
        exit0(),
        // b's main: it may not call a, and has no grant.
        call(nr::LOOKUP, [a, 1, nothing, 1]),
        call(nr::GRANT, [put(&mut w, 1, 16, b"buf"), 3, 0, 0]),
        exit0(),
    ];
    let (verdict, cpu) = run(&mut w, script);
    assert_eq!(verdict, Verdict::Pass);
    assert_eq!(result(&cpu, 0), 1 << 32);
    assert_eq!(result(&cpu, 1), w.grants[0].gpa as i64);
    assert_eq!(cpu.entered_with[2].rdx, 4096);
    assert_eq!(cpu.entered_with[2].r10, 1);
    // Entries 3 and 4 start b's main (entry 3 is its first run).
    assert_eq!(cpu.entered_with[4].rax as i64, error::NOT_PERMITTED);
    assert_eq!(cpu.entered_with[5].rax as i64, error::NO_SUCH_GRANT);
}

#[test]
fn unknown_and_unpermitted_hypercalls_are_refused() {
    let text = "tessera-manifest 1\ncompartment a hypercalls=exit,panic\n";
    let (mut w, lines) = world(&[("manifest", manifest(text)), ("a", hello())]);
    let script = vec![
        call(99, [0; 4]),
        call(nr::CONSOLE_WRITE, [0, 0, 0, 0]),
        call(nr::SWITCH_VIEW, [1, 0, 0, 0]),
        call(nr::CONFORMANCE_REPORT, [0, 0, 0, 0]),
        exit0(),
    ];
    let (verdict, cpu) = run(&mut w, script);
    assert_eq!(verdict, Verdict::Pass, "{:?}", lines.all());
    assert_eq!(result(&cpu, 0), error::UNKNOWN_HYPERCALL);
    assert_eq!(result(&cpu, 1), error::NOT_PERMITTED);
    // The fixture's hypercalls, outside the fixture.
    assert_eq!(result(&cpu, 2), error::NOT_PERMITTED);
    assert_eq!(result(&cpu, 3), error::NOT_PERMITTED);
}

#[test]
fn panic_stops_the_caller_with_its_message() {
    let (mut w, lines) = world(&[("a expect=fault:panic", hello())]);
    let message = put(&mut w, 0, 0, b"boom at src/main.rs:3");
    let script = vec![call(nr::PANIC, [message, 21, 0, 0])];
    let (verdict, _) = run(&mut w, script);
    assert_eq!(verdict, Verdict::Pass, "{:?}", lines.all());
    let faults = lines.records("FAULT");
    assert!(
        faults[0]
            .starts_with("@@FAULT compartment=a kind=panic message=boom%20at%20src/main.rs:3 "),
        "{faults:?}"
    );
}

/// The message is readable on the compartment's console, escaped only as console output
/// is (a control character, never a space), on lines of its own after what the
/// compartment had printed, before the `@@FAULT` that carries it exactly.
#[test]
fn a_panic_message_is_readable_on_the_console() {
    let (mut w, lines) = world(&[("a expect=fault:panic", hello())]);
    let half = put(&mut w, 0, 0, b"no newline yet");
    let text = b"panicked at src/lib.rs:7:9: \x1b[31mred\nsecond line";
    let message = put(&mut w, 0, 0x100, text);
    let script = vec![
        call(nr::CONSOLE_WRITE, [half, 14, 0, 0]),
        call(nr::PANIC, [message, text.len() as u64, 0, 0]),
    ];
    let (verdict, _) = run(&mut w, script);
    assert_eq!(verdict, Verdict::Pass, "{:?}", lines.all());
    let all = lines.all();
    let at = all
        .iter()
        .position(|l| l == "[a] no newline yet")
        .expect("pending output flushed first");
    assert_eq!(
        all[at + 1..at + 3],
        [
            "[a] panicked at src/lib.rs:7:9: \\x1b[31mred",
            "[a] second line"
        ],
        "{all:?}"
    );
    assert!(
        all[at + 3].starts_with(
            "@@FAULT compartment=a kind=panic \
             message=panicked%20at%20src/lib.rs:7:9:%20%1B[31mred%0Asecond%20line rip="
        ),
        "{all:?}"
    );
}

#[test]
fn gate_violations_stop_only_a_corrupt_caller() {
    let (mut w, lines) = world(&[("a expect=fault:gate-state", hello())]);
    let corrupt = tessera_abi::gate::violation::CORRUPT_STATE;
    let (verdict, _) = run(&mut w, vec![call(nr::GATE_VIOLATION, [0, corrupt, 0, 0])]);
    assert_eq!(verdict, Verdict::Pass, "{:?}", lines.all());
    // A stray reply with nothing pending: nobody is stopped; the main's run is over.
    let (mut w, lines) = world(&[("a expect=aborted", hello())]);
    let stray = tessera_abi::gate::violation::STRAY;
    let (verdict, _) = run(&mut w, vec![call(nr::GATE_VIOLATION, [0, stray, 0, 0])]);
    assert_eq!(verdict, Verdict::Pass, "{:?}", lines.all());
    assert!(lines.has("@@ABORT compartment=a reason=protocol"));
    assert!(lines.records("FAULT").is_empty());
    assert_eq!(
        w.view(ViewId(0)).compartment.outcome,
        Some(Outcome::Aborted)
    );
}

/// OUT_OF_MEMORY stops the caller with `kind=out-of-memory`, the request as it made it and
/// the heap its manifest gave it; it is always allowed, as PANIC is.
#[test]
fn out_of_memory_stops_the_caller_with_the_request_and_its_heap() {
    let text = "tessera-manifest 1\ncompartment a hypercalls=exit,panic heap=8192\n";
    let modules = [
        ("manifest", manifest(text)),
        ("a expect=fault:out-of-memory", hello()),
    ];
    let (mut w, lines) = world(&modules);
    let half = put(&mut w, 0, 0, b"allocating");
    let script = vec![
        call(nr::CONSOLE_WRITE, [half, 10, 0, 0]),
        call(nr::OUT_OF_MEMORY, [12288, 8, 0, 0]),
    ];
    let (verdict, _) = run(&mut w, script);
    assert_eq!(verdict, Verdict::Pass, "{:?}", lines.all());
    let faults = lines.records("FAULT");
    assert!(
        faults[0].starts_with(
            "@@FAULT compartment=a kind=out-of-memory size=12288 align=8 heap=8192 rip="
        ),
        "{faults:?}"
    );
    assert_eq!(
        w.view(ViewId(0)).compartment.outcome,
        Some(Outcome::Faulted("out-of-memory"))
    );
    // What it had printed comes first.
    let all = lines.all();
    let printed = all.iter().position(|l| l == "[a] allocating");
    let fault = all.iter().position(|l| l.starts_with("@@FAULT"));
    assert!(printed < fault, "{all:?}");
}
