//! The manifest format of docs/manifest.md: the documented example, every rule's
//! rejection (line, field, problem), the limits, and the helpers the kernel uses.

mod helpers;
mod limits;
mod rejected;

use tessera_abi::gate::info;
use tessera_abi::hypercall::{self as nr, Hypercall as Call};
use tessera_core::manifest::{
    Access, CompartmentDecl, Concurrency, DEFAULT_CONSOLE, DEFAULT_HEAP, DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_RESTARTS, DEFAULT_STACK, DEFAULT_WATCHDOG, Hypercall, HypercallSet,
    MAX_COMPARTMENTS, MAX_CONSOLE, MAX_EXPORTS, MAX_HEAP, MAX_MAX_DEPTH, MAX_WATCHDOG, MIN_HEAP,
    MIN_WATCHDOG, Manifest, ManifestError, Restart,
};

const DOC_EXAMPLE: &str = "\
tessera-manifest 1
compartment vault exports=sign,verify
compartment client calls=vault hypercalls=exit,console,panic,lookup,grant
grant msg size=4096 client=rw vault=r
";

fn parse_err(text: &str) -> ManifestError {
    match Manifest::parse(text) {
        Ok(m) => panic!("accepted:\n{text}\nas {m:?}"),
        Err(e) => e,
    }
}

/// `n` distinct compartment names.
fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("c{i}")).collect()
}

#[test]
fn the_documented_example_parses() {
    let m = Manifest::parse(DOC_EXAMPLE).expect("doc example");
    let vault = CompartmentDecl {
        exports: vec!["sign".into(), "verify".into()],
        ..CompartmentDecl::new("vault")
    };
    let client = CompartmentDecl {
        calls: vec!["vault".into()],
        hypercalls: HypercallSet::MINIMAL
            .with(Call::ConsoleWrite)
            .with(Call::Lookup)
            .with(Call::Grant),
        ..CompartmentDecl::new("client")
    };
    assert_eq!(m.compartments, vec![vault, client]);
    assert_eq!(m.compartments[0].stack, DEFAULT_STACK);
    assert_eq!(m.compartments[0].hypercalls, HypercallSet::GRANTABLE);
    assert_eq!(m.grants.len(), 1);
    assert_eq!(m.grants[0].name, "msg");
    assert_eq!(m.grants[0].size, 4096);
    assert_eq!(
        m.grants[0].access,
        vec![
            ("client".into(), Access::ReadWrite),
            ("vault".into(), Access::Read)
        ]
    );
    assert_eq!(Manifest::parse(&m.to_text()), Ok(m));
}

#[test]
fn comments_blank_lines_tabs_crlf_and_forward_references() {
    let text = "# a manifest\r\n\r\n  tessera-manifest\t1 # version\r\n\
                compartment a calls=b stack=4096\r\n\
                grant g size=8192 b=r\r\n\
                compartment b   # declared after its caller\r\n";
    let m = Manifest::parse(text).expect("valid");
    assert_eq!(m.index_of("b"), Some(1));
    assert!(m.may_call(0, 1));
    assert_eq!(m.compartments[0].stack, 4096);
}

#[test]
fn limits_default_parse_and_round_trip() {
    let m = Manifest::parse(
        "tessera-manifest 1\n\
         compartment a\n\
         compartment b watchdog=1024 max_depth=1 console=0\n\
         compartment c watchdog=67108864 max_depth=32 console=16777216\n\
         compartment d watchdog=1099511627776 console=65536 max_depth=16\n",
    )
    .expect("valid");
    let [a, b, c, d] = &m.compartments[..] else {
        panic!("four compartments: {m:?}");
    };
    // No key: default budget for exports, `main` unbounded, defaults for the rest.
    assert_eq!(a.watchdog, None);
    assert_eq!(a.export_watchdog(), DEFAULT_WATCHDOG);
    assert_eq!(DEFAULT_WATCHDOG, 1 << 26);
    assert_eq!(a.main_watchdog(), None);
    assert_eq!(
        (a.max_depth, a.console),
        (DEFAULT_MAX_DEPTH, DEFAULT_CONSOLE)
    );
    assert_eq!((DEFAULT_MAX_DEPTH, DEFAULT_CONSOLE), (16, 65536));
    // The key bounds exports and `main` alike.
    assert_eq!(b.watchdog, Some(MIN_WATCHDOG));
    assert_eq!((b.export_watchdog(), b.main_watchdog()), (1024, Some(1024)));
    assert_eq!((b.max_depth, b.console), (1, 0));
    // Present at the default value is still present: `main` is bounded.
    assert_eq!(c.main_watchdog(), Some(DEFAULT_WATCHDOG));
    assert_eq!((c.max_depth, c.console), (MAX_MAX_DEPTH, MAX_CONSOLE));
    assert_eq!(d.watchdog, Some(MAX_WATCHDOG));
    let text = m.to_text();
    assert!(text.contains("compartment a\n"), "{text}");
    assert!(
        text.contains("compartment c watchdog=67108864 max_depth=32 console=16777216\n"),
        "{text}"
    );
    assert!(
        text.contains("compartment d watchdog=1099511627776\n"),
        "{text}"
    );
    assert_eq!(Manifest::parse(&text), Ok(m));
}

#[test]
fn heap_defaults_to_64_kib_parses_whole_pages_and_round_trips() {
    let m = Manifest::parse(
        "tessera-manifest 1\n\
         compartment a\n\
         compartment b heap=4096\n\
         compartment c heap=67108864 stack=8192\n\
         compartment d heap=65536\n",
    )
    .expect("valid");
    let heaps: Vec<u64> = m.compartments.iter().map(|c| c.heap).collect();
    assert_eq!(heaps, [DEFAULT_HEAP, MIN_HEAP, MAX_HEAP, DEFAULT_HEAP]);
    assert_eq!((DEFAULT_HEAP, MIN_HEAP, MAX_HEAP), (65536, 4096, 64 << 20));
    let text = m.to_text();
    assert!(text.contains("compartment b heap=4096\n"), "{text}");
    assert!(
        text.contains("compartment c stack=8192 heap=67108864\n"),
        "{text}"
    );
    // At the default it is left out.
    assert!(text.contains("compartment d\n"), "{text}");
    assert_eq!(Manifest::parse(&text), Ok(m));
}

#[test]
fn call_buffer_defaults_to_4_kib_parses_whole_pages_up_to_1_mib() {
    let m =
        Manifest::parse("tessera-manifest 1\ncompartment a\ncompartment b call_buffer=1048576\n")
            .expect("valid");
    let sizes: Vec<u64> = m.compartments.iter().map(|c| c.call_buffer).collect();
    assert_eq!(sizes, [4096, 1 << 20]);
    let text = m.to_text();
    assert!(text.contains("compartment a\n"), "{text}");
    assert!(
        text.contains("compartment b call_buffer=1048576\n"),
        "{text}"
    );
    assert_eq!(Manifest::parse(&text), Ok(m));
    for bad in ["0", "4095", "2097152"] {
        let e = parse_err(&format!(
            "tessera-manifest 1\ncompartment a call_buffer={bad}\n"
        ));
        assert_eq!((e.line, e.field.as_str()), (2, "call_buffer"), "{e}");
    }
}

#[test]
fn display_names_line_and_field() {
    let e = parse_err("tessera-manifest 1\ncompartment vault\ncompartment client calls=valt\n");
    assert_eq!(
        e.to_string(),
        "manifest line 3, field calls: compartment 'valt' does not exist"
    );
    let e = parse_err("");
    assert_eq!(e.line, 0);
    assert!(
        e.to_string()
            .starts_with("manifest, field tessera-manifest: ")
    );
}

#[test]
fn the_header_comes_first_and_names_version_1() {
    for (text, problem) in [
        ("compartment a\n", "first directive"),
        ("tessera-manifest\ncompartment a\n", "missing the version"),
        ("tessera-manifest 2\ncompartment a\n", "version '2'"),
        ("tessera-manifest 01\ncompartment a\n", "version '01'"),
        ("tessera-manifest 1 x\ncompartment a\n", "unexpected 'x'"),
        ("# only a comment\n", "empty"),
    ] {
        let e = parse_err(text);
        assert_eq!(e.field, "tessera-manifest", "{text:?}: {e}");
        assert!(e.problem.contains(problem), "{text:?}: {e}");
    }
}

#[test]
fn messages_escape_hostile_text() {
    let e = parse_err("tessera-manifest 1\ncompartment a\u{1b}[2J\n");
    assert!(!e.to_string().contains('\u{1b}'), "{e}");
    let long = "x".repeat(10_000);
    let e = parse_err(&format!("tessera-manifest 1\n{long}\n"));
    assert!(e.to_string().len() < 200, "{e}");
}

#[test]
fn concurrency_defaults_to_serial_and_cpu_to_0_and_both_round_trip() {
    let m = Manifest::parse(
        "tessera-manifest 1\n\
         compartment a\n\
         compartment b concurrency=parallel cpu=15\n\
         compartment c concurrency=serial cpu=0\n",
    )
    .expect("valid");
    let [a, b, c] = &m.compartments[..] else {
        panic!("three compartments: {m:?}");
    };
    assert_eq!((a.concurrency, a.cpu), (Concurrency::Serial, 0));
    assert_eq!((b.concurrency, b.cpu), (Concurrency::Parallel, 15));
    assert_eq!((c.concurrency, c.cpu), (Concurrency::Serial, 0));
    assert_eq!(a.concurrency.word(), info::SERIAL);
    assert_eq!(b.concurrency.word(), info::PARALLEL);
    assert_eq!(
        (a.concurrency.claim_below(), b.concurrency.claim_below()),
        (2, 0)
    );
    let text = m.to_text();
    assert!(text.contains("compartment a\n"), "{text}");
    assert!(
        text.contains("compartment b concurrency=parallel cpu=15\n"),
        "{text}"
    );
    assert!(text.contains("compartment c\n"), "{text}");
    let every = Manifest::parse("tessera-manifest 1\ncompartment a concurrency=parallel cpu=all\n")
        .expect("cpu=all with parallel");
    let a = &every.compartments[0];
    assert!(a.main_on(0) && a.main_on(15), "cpu=all: every vCPU");
    assert!(
        every
            .to_text()
            .contains("compartment a concurrency=parallel cpu=all\n")
    );
    assert!(!m.compartments[1].main_on(0) && m.compartments[1].main_on(15));
    for (field, problem) in [
        (
            "concurrency=both",
            "manifest line 2, field concurrency: 'both' is not serial or parallel",
        ),
        (
            "cpu=16",
            "manifest line 2, field cpu: 16 is not from 0 to 15 (a 0-based vCPU index, or all)",
        ),
        (
            "cpu=-1",
            "manifest line 2, field cpu: '-1' is not a vCPU index (0-based) or all",
        ),
        (
            "cpu=all",
            "manifest line 2, field cpu: cpu=all needs concurrency=parallel",
        ),
        ("cpu=1 cpu=2", "manifest line 2, field cpu: given twice"),
    ] {
        let e = Manifest::parse(&format!("tessera-manifest 1\ncompartment a {field}\n"))
            .expect_err(field);
        assert!(e.to_string().starts_with(problem), "{field}: {e}");
    }
}

#[test]
fn restart_defaults_to_never_and_on_fault_round_trips_with_its_limit() {
    let m = Manifest::parse(
        "tessera-manifest 1\n\
         compartment a\n\
         compartment b restart=on-fault\n\
         compartment c restart=on-fault max_restarts=0\n\
         compartment d max_restarts=7 restart=on-fault\n\
         compartment e restart=never\n",
    )
    .expect("valid");
    let [a, b, c, d, e] = &m.compartments[..] else {
        panic!("five compartments: {m:?}");
    };
    assert_eq!((a.restart, e.restart), (Restart::Never, Restart::Never));
    assert_eq!(
        (b.restart, b.max_restarts),
        (Restart::OnFault, DEFAULT_MAX_RESTARTS)
    );
    assert_eq!((c.max_restarts, d.max_restarts), (0, 7));
    // The policy: `never` never restarts; `on-fault` until the limit is reached.
    assert!(!a.restarts_after_fault(0));
    assert!(b.restarts_after_fault(DEFAULT_MAX_RESTARTS - 1));
    assert!(!b.restarts_after_fault(DEFAULT_MAX_RESTARTS));
    assert!(!c.restarts_after_fault(0));
    assert!(d.restarts_after_fault(6) && !d.restarts_after_fault(7));
    let text = m.to_text();
    assert!(text.contains("compartment b restart=on-fault\n"), "{text}");
    assert!(
        text.contains("compartment c restart=on-fault max_restarts=0\n"),
        "{text}"
    );
    assert!(text.contains("compartment e\n"), "{text}");
    assert_eq!(Manifest::parse(&text), Ok(m));
}

#[test]
fn data_lines_name_one_compartment_each_and_round_trip() {
    let m = Manifest::parse(
        "tessera-manifest 1\n\
         data key compartment=vault\n\
         compartment vault\n\
         compartment client\n\
         data salt compartment=vault\n",
    )
    .expect("valid: a data line may name a compartment declared later");
    let names = |v| m.data_of(v).map(|d| d.name.as_str()).collect::<Vec<_>>();
    assert_eq!(names(0), ["key", "salt"]);
    assert!(names(1).is_empty());
    assert!(names(7).is_empty(), "a view out of range has no data");
    assert_eq!(m.data[0].module(), "DATA-key");
    let text = m.to_text();
    assert!(
        text.ends_with("data key compartment=vault\ndata salt compartment=vault\n"),
        "{text}"
    );
    assert_eq!(Manifest::parse(&text), Ok(m));
    let many: String = (0..=tessera_core::manifest::data::MAX_DATA_PER_COMPARTMENT)
        .map(|i| format!("data d{i} compartment=a\n"))
        .collect();
    let e = parse_err(&format!("tessera-manifest 1\ncompartment a\n{many}"));
    assert_eq!((e.field.as_str(), e.line), ("compartment", 66), "{e}");
}
