//! Every rule of docs/manifest.md, broken once: rejected with its line, field and problem.

use super::*;

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
    (
        "compartment a heap=0",
        2,
        "heap",
        "multiple of 4096 from 4096",
    ),
    ("compartment a heap=8191", 2, "heap", "multiple of 4096"),
    (
        "compartment a heap=67112960",
        2,
        "heap",
        "to 67108864 bytes",
    ),
    ("compartment a heap=64k", 2, "heap", "not a decimal number"),
    (
        "compartment a heap=4096 heap=8192",
        2,
        "heap",
        "given twice",
    ),
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
    ("compartment a\ndata", 3, "name", "missing"),
    (
        "compartment a\ndata Key compartment=a",
        3,
        "name",
        "outside a-z",
    ),
    (
        "compartment a\ndata key",
        3,
        "compartment",
        "missing compartment=NAME",
    ),
    (
        "compartment a\ndata key compartment=b",
        3,
        "compartment",
        "'b' does not exist",
    ),
    (
        "compartment a\ndata key size=4096",
        3,
        "size",
        "unknown field",
    ),
    (
        "compartment a\ndata key compartment=a compartment=a",
        3,
        "compartment",
        "given twice",
    ),
    (
        "compartment a\ndata key compartment=a\ndata key compartment=a",
        4,
        "name",
        "already declared on line 3",
    ),
    (
        "compartment a restart=always",
        2,
        "restart",
        "'always' is not never or on-fault",
    ),
    (
        "compartment a max_restarts=2",
        2,
        "max_restarts",
        "needs restart=on-fault",
    ),
    (
        "compartment a restart=never max_restarts=2",
        2,
        "max_restarts",
        "needs restart=on-fault",
    ),
    (
        "compartment a restart=on-fault max_restarts=1000001",
        2,
        "max_restarts",
        "not from 0 to 1000000",
    ),
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
