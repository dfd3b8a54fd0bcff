//! The manifest format of docs/manifest.md: the documented example, every rule's
//! rejection (line, field, problem), the limits, and the helpers the kernel uses.

use tessera_abi::hypercall::{self as nr, Hypercall as Call};
use tessera_core::manifest::{
    Access, CompartmentDecl, DEFAULT_CONSOLE, DEFAULT_MAX_DEPTH, DEFAULT_STACK, DEFAULT_WATCHDOG,
    Hypercall, HypercallSet, MAX_COMPARTMENTS, MAX_CONSOLE, MAX_EXPORTS, MAX_MAX_DEPTH,
    MAX_WATCHDOG, MIN_WATCHDOG, Manifest, ManifestError,
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

/// `(text after the header, line, field, part of the problem)`.
const REJECTED: &[(&str, usize, &str, &str)] = &[
    ("compartment", 2, "name", "missing"),
    ("compartment Vault", 2, "name", "outside a-z"),
    ("compartment a.b", 2, "name", "outside a-z"),
    (
        "compartment abcdefghijklmnopqrstuvwxyz0123456",
        2,
        "name",
        "longer than 32",
    ),
    ("compartment manifest", 2, "name", "reserved"),
    ("compartment size", 2, "name", "reserved"),
    ("compartment x=1", 2, "name", "outside a-z"),
    (
        "compartment a\ncompartment a",
        3,
        "name",
        "already declared on line 2",
    ),
    ("compartment a exports=", 2, "exports", "empty list"),
    (
        "compartment a exports=x,,y",
        2,
        "exports",
        "empty list entry",
    ),
    ("compartment a exports=x,y,x", 2, "exports", "listed twice"),
    ("compartment a exports=X", 2, "exports", "outside a-z"),
    (
        "compartment a exports=x exports=y",
        2,
        "exports",
        "given twice",
    ),
    ("compartment a calls=a", 2, "calls", "cannot call itself"),
    ("compartment a calls=b", 2, "calls", "'b' does not exist"),
    (
        "compartment a calls=b,b\ncompartment b",
        2,
        "calls",
        "listed twice",
    ),
    (
        "compartment a hypercalls=exit,fly",
        2,
        "hypercalls",
        "unknown hypercall 'fly'",
    ),
    (
        "compartment a hypercalls=switch_view",
        2,
        "hypercalls",
        "unknown hypercall 'switch_view' (known: exit, console, panic, exit_count, \
         register_export, lookup, grant, report",
    ),
    (
        "compartment a hypercalls=gate_violation",
        2,
        "hypercalls",
        "unknown hypercall 'gate_violation'",
    ),
    (
        "compartment a hypercalls=console_write",
        2,
        "hypercalls",
        "unknown hypercall 'console_write'",
    ),
    (
        "compartment a hypercalls=exit,exit",
        2,
        "hypercalls",
        "listed twice",
    ),
    ("compartment a stack=0", 2, "stack", "multiple of 4096"),
    ("compartment a stack=4097", 2, "stack", "multiple of 4096"),
    (
        "compartment a stack=2097152",
        2,
        "stack",
        "multiple of 4096",
    ),
    (
        "compartment a stack=+4096",
        2,
        "stack",
        "not a decimal number",
    ),
    (
        "compartment a stack=0x1000",
        2,
        "stack",
        "not a decimal number",
    ),
    (
        "compartment a stack=99999999999999999999999",
        2,
        "stack",
        "not a decimal",
    ),
    ("compartment a watchdog=0", 2, "watchdog", "not from 1024"),
    (
        "compartment a watchdog=1023",
        2,
        "watchdog",
        "not from 1024",
    ),
    (
        "compartment a watchdog=1099511627777",
        2,
        "watchdog",
        "to 1099511627776 ticks",
    ),
    (
        "compartment a watchdog=",
        2,
        "watchdog",
        "not a decimal number of ticks",
    ),
    (
        "compartment a watchdog=2^26",
        2,
        "watchdog",
        "not a decimal",
    ),
    ("compartment a watchdog=-5", 2, "watchdog", "not a decimal"),
    (
        "compartment a watchdog=4096 watchdog=4096",
        2,
        "watchdog",
        "given twice",
    ),
    (
        "compartment a max_depth=0",
        2,
        "max_depth",
        "not from 1 to 32",
    ),
    (
        "compartment a max_depth=33",
        2,
        "max_depth",
        "not from 1 to 32",
    ),
    (
        "compartment a max_depth=4294967312",
        2,
        "max_depth",
        "not from 1 to 32",
    ),
    ("compartment a max_depth=x", 2, "max_depth", "not a decimal"),
    (
        "compartment a console=16777217",
        2,
        "console",
        "not from 0 to 16777216 bytes",
    ),
    ("compartment a console=64K", 2, "console", "not a decimal"),
    (
        "compartment a console=1 console=2",
        2,
        "console",
        "given twice",
    ),
    ("compartment a colour=red", 2, "colour", "unknown field"),
    ("compartment a exports", 2, "exports", "expected key=value"),
    ("compartment a =x", 2, "=x", "expected key=value"),
    (
        "grant g size=4096 a=r\ncompartment b",
        2,
        "a",
        "'a' does not exist",
    ),
    ("compartment a\ngrant", 3, "name", "missing"),
    (
        "compartment a\ngrant G size=4096 a=r",
        3,
        "name",
        "outside a-z",
    ),
    ("compartment a\ngrant g a=r", 3, "size", "missing"),
    (
        "compartment a\ngrant g size=4096",
        3,
        "grant",
        "names no compartment",
    ),
    (
        "compartment a\ngrant g size=0 a=r",
        3,
        "size",
        "multiple of 4096",
    ),
    (
        "compartment a\ngrant g size=2097152 a=r",
        3,
        "size",
        "multiple of 4096",
    ),
    (
        "compartment a\ngrant g size=4096 size=4096 a=r",
        3,
        "size",
        "given twice",
    ),
    ("compartment a\ngrant g size=4096 a=x", 3, "a", "r or rw"),
    (
        "compartment a\ngrant g size=4096 a=r a=rw",
        3,
        "a",
        "given twice",
    ),
    (
        "compartment a\ngrant g size=4096 A=r",
        3,
        "A",
        "neither `size` nor",
    ),
    (
        "compartment a\ngrant g size=4096 a=r\ngrant g size=4096 a=r",
        4,
        "name",
        "already declared on line 3",
    ),
    ("tessera-manifest 1", 2, "tessera-manifest", "once"),
    ("module a", 2, "module", "unknown directive"),
    ("", 0, "compartment", "no compartment"),
];

#[test]
fn every_rule_rejects_with_line_and_field() {
    for &(body, line, field, problem) in REJECTED {
        let text = format!("tessera-manifest 1\n{body}\n");
        let e = parse_err(&text);
        assert_eq!((e.line, e.field.as_str()), (line, field), "{body:?}: {e}");
        assert!(e.problem.contains(problem), "{body:?}: {e}");
    }
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

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("c{i}")).collect()
}

#[test]
fn at_most_511_compartments() {
    let text = |n: usize| {
        let mut t = String::from("tessera-manifest 1\n");
        for name in names(n) {
            t.push_str(&format!("compartment {name}\n"));
        }
        t
    };
    assert_eq!(
        Manifest::parse(&text(MAX_COMPARTMENTS)).map(|m| m.compartments.len()),
        Ok(511)
    );
    let e = parse_err(&text(MAX_COMPARTMENTS + 1));
    assert_eq!((e.line, e.field.as_str()), (513, "compartment"));
}

#[test]
fn at_most_max_exports() {
    let text = |n: usize| {
        let exports: Vec<String> = (0..n).map(|i| format!("e{i}")).collect();
        format!(
            "tessera-manifest 1\ncompartment a exports={}\n",
            exports.join(",")
        )
    };
    let m = Manifest::parse(&text(MAX_EXPORTS)).expect("MAX_EXPORTS exports");
    assert_eq!(
        m.export_index(0, &format!("e{}", MAX_EXPORTS - 1)),
        Some(MAX_EXPORTS - 1)
    );
    assert!(
        parse_err(&text(MAX_EXPORTS + 1))
            .problem
            .contains("more than")
    );
    // Export names may be longer than compartment names (REGISTER_EXPORT takes 64 bytes).
    let e64 = "e".repeat(64);
    assert!(Manifest::parse(&format!("tessera-manifest 1\ncompartment a exports={e64}")).is_ok());
    let e65 = "e".repeat(65);
    assert!(Manifest::parse(&format!("tessera-manifest 1\ncompartment a exports={e65}")).is_err());
}

#[test]
fn helpers_answer_for_views() {
    let m = Manifest::parse(
        "tessera-manifest 1\n\
         compartment a calls=b,c hypercalls=console\n\
         compartment b exports=x,y calls=c\n\
         compartment c\n\
         grant g size=4096 a=rw c=r\n",
    )
    .expect("valid");
    assert_eq!(m.index_of("c"), Some(2));
    assert_eq!(m.index_of("d"), None);
    assert!(m.may_call(0, 1) && m.may_call(0, 2) && m.may_call(1, 2));
    assert!(!m.may_call(1, 0) && !m.may_call(2, 2) && !m.may_call(0, 9) && !m.may_call(9, 0));
    assert_eq!(m.export_index(1, "y"), Some(1));
    assert_eq!(m.export_index(1, "z"), None);
    assert_eq!(m.export_index(7, "x"), None);
    assert_eq!(m.callers_of(0), [0; 8]);
    assert_eq!(m.callers_of(1), [0b001, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(m.callers_of(2), [0b011, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(m.callers_of(3), [0; 8]);
    assert_eq!(
        m.all_callers(),
        vec![m.callers_of(0), m.callers_of(1), m.callers_of(2)]
    );
    // a: exit, panic (always) and console; b, c: everything.
    for (number, a_allowed) in [
        (nr::EXIT, true),
        (nr::CONSOLE_WRITE, true),
        (nr::PANIC, true),
        (nr::EXIT_COUNT, false),
        (nr::REGISTER_EXPORT, false),
        (nr::LOOKUP, false),
        (nr::GRANT, false),
        (nr::GATE_VIOLATION, true),
    ] {
        assert_eq!(
            m.allows_hypercall(0, number),
            a_allowed,
            "hypercall {number}"
        );
        assert!(m.allows_hypercall(1, number), "hypercall {number}");
    }
    assert!(!m.allows_hypercall(0, 99) && !m.allows_hypercall(1, 99));
    assert!(!m.allows_hypercall(3, nr::EXIT));
    assert_eq!(m.grant_for(0, "g"), Some((0, Access::ReadWrite)));
    assert_eq!(m.grant_for(2, "g"), Some((0, Access::Read)));
    assert_eq!(m.grant_for(1, "g"), None);
    assert_eq!(m.grant_for(0, "h"), None);
}

#[test]
fn callers_bitmap_covers_all_511_views() {
    let mut text = String::from("tessera-manifest 1\ncompartment target\n");
    for name in names(MAX_COMPARTMENTS - 1) {
        text.push_str(&format!("compartment {name} calls=target\n"));
    }
    let m = Manifest::parse(&text).expect("valid");
    let bits = m.callers_of(0);
    assert_eq!(bits[0], !1, "every view but 0 itself");
    assert!(bits[1..7].iter().all(|w| *w == u64::MAX));
    assert_eq!(bits[7], u64::MAX >> 1, "views 448..=510, not 511");
    assert_eq!(m.all_callers()[0], bits);
}

#[test]
fn minimal_hypercalls_keep_exit_and_panic() {
    let m = Manifest::parse("tessera-manifest 1\ncompartment a hypercalls=exit\n").expect("ok");
    assert_eq!(m.compartments[0].hypercalls, HypercallSet::MINIMAL);
    assert!(m.to_text().contains("hypercalls=exit,panic"));
    for h in Hypercall::ALL {
        assert_eq!(Hypercall::from_name(h.name()), Some(h));
        assert_eq!(Call::from_number(h.call().number()), Some(h.call()));
    }
    let gate_violation = Call::from_number(nr::GATE_VIOLATION).expect("defined");
    assert_eq!(gate_violation.manifest_name(), None);
}

#[test]
fn implicit_manifest_is_one_compartment_per_module() {
    let m = Manifest::implicit(&["hello".into(), "fault-cr3".into()]).expect("valid");
    assert_eq!(
        m.compartments,
        vec![
            CompartmentDecl::new("hello"),
            CompartmentDecl::new("fault-cr3")
        ]
    );
    assert!(m.grants.is_empty() && !m.may_call(0, 1));
    assert_eq!(Manifest::parse(&m.to_text()), Ok(m));
    for (modules, problem) in [
        (vec![], "no module"),
        (vec!["Hello".to_string()], "module 0: name 'Hello'"),
        (
            vec!["a".into(), "b".into(), "a".into()],
            "module 2: name 'a' is also module 0's",
        ),
        (vec!["manifest".into()], "reserved"),
        (names(MAX_COMPARTMENTS + 1), "more than 511"),
    ] {
        let e = Manifest::implicit(&modules).expect_err("invalid");
        assert_eq!(e.line, 0);
        assert!(e.problem.contains(problem), "{modules:?}: {e}");
    }
    assert!(Manifest::implicit(&names(MAX_COMPARTMENTS)).is_ok());
}
