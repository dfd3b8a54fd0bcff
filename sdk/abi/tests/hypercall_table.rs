//! The hypercall table ([`tessera_abi::for_each_hypercall!`]) against what the ABI
//! promises: the numbers compartments already use, dense and unique; manifest names
//! unique and round-tripping; the generated enum, constants and set agreeing with the
//! rows; and what the SDK generates from the rows (wrapper names, parameter names, docs)
//! agreeing with the enum's accessors, as a callback in another crate sees them.

use std::collections::BTreeSet;
use tessera_abi::hypercall::{self as nr, COUNT, Hypercall, HypercallSet, Policy, Register};

/// What a callback sees in a row: constant name, constant value, variant, wrapper name,
/// parameter names, result names, doc.
type Row = (
    &'static str,
    u64,
    Hypercall,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    &'static str,
);

macro_rules! rows {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident = $number:literal => $variant:ident, $fn:ident {
            manifest: $manifest:tt,
            policy: $policy:ident,
            args: [$($arg:ident: $reg:ident),*],
            results: [$($res:ident: $res_reg:ident),*],
        }
    )*) => {
        const ROWS: &[Row] = &[$((
            stringify!($name),
            nr::$name,
            Hypercall::$variant,
            stringify!($fn),
            &[$(stringify!($arg)),*],
            &[$(stringify!($res)),*],
            concat!($($doc, "\n"),*),
        )),*];
    };
}
tessera_abi::for_each_hypercall!(rows);

/// The numbers compartments are built against (ABI version 4, unchanged since 2): a row may be added, never
/// renumbered.
const NUMBERS: [(&str, u64); 13] = [
    ("EXIT", 0),
    ("CONSOLE_WRITE", 1),
    ("PANIC", 2),
    ("EXIT_COUNT", 3),
    ("REGISTER_EXPORT", 4),
    ("LOOKUP", 5),
    ("GRANT", 6),
    ("GATE_VIOLATION", 7),
    ("CONFORMANCE_REPORT", 8),
    ("REPORT", 9),
    ("SWITCH_VIEW", 10),
    ("APP_REPORT", 11),
    ("OUT_OF_MEMORY", 12),
];

#[test]
fn numbers_are_the_published_ones_dense_and_unique() {
    assert_eq!(tessera_abi::ABI_VERSION, 4);
    assert_eq!(ROWS.len(), COUNT);
    for (i, (name, number, call, ..)) in ROWS.iter().enumerate() {
        assert_eq!(*number, i as u64, "{name}: dense, in row order");
        assert_eq!(call.number(), *number, "{name}");
        assert_eq!(call.const_name(), *name);
        assert_eq!(Hypercall::ALL[i], *call);
        assert_eq!(nr::ALL[i], *number);
    }
    let published: Vec<(&str, u64)> = ROWS.iter().map(|r| (r.0, r.1)).take(13).collect();
    assert_eq!(published, NUMBERS);
    let unique: BTreeSet<u64> = nr::ALL.into_iter().collect();
    assert_eq!(unique.len(), COUNT);
}

#[test]
fn from_number_is_the_inverse_of_number() {
    for call in Hypercall::ALL {
        assert_eq!(Hypercall::from_number(call.number()), Some(call));
    }
    for number in (COUNT as u64..COUNT as u64 + 100).chain([u64::MAX, 1 << 63]) {
        assert_eq!(Hypercall::from_number(number), None, "{number}");
    }
    for number in 0..COUNT as u64 {
        assert_eq!(
            Hypercall::from_number(number).map(Hypercall::number),
            Some(number)
        );
    }
}

#[test]
fn manifest_names_are_unique_and_round_trip() {
    let names: Vec<&str> = Hypercall::MANIFEST
        .iter()
        .map(|h| h.manifest_name().expect("nameable"))
        .collect();
    // What `hypercalls=` has always accepted, in the order manifests are written.
    let published = [
        "exit",
        "console",
        "panic",
        "exit_count",
        "register_export",
        "lookup",
        "grant",
        "report",
        "app_report",
        "out_of_memory",
    ];
    assert_eq!(names, published);
    let unique: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(unique.len(), names.len());
    for call in Hypercall::ALL {
        match call.manifest_name() {
            Some(name) => {
                assert_eq!(Hypercall::from_manifest_name(name), Some(call));
                assert!(Hypercall::MANIFEST.contains(&call));
            }
            None => assert!(!Hypercall::MANIFEST.contains(&call), "{call:?}"),
        }
    }
    for name in [
        "",
        "Exit",
        "console_write",
        "gate_violation",
        "switch_view",
        "exit ",
    ] {
        assert_eq!(Hypercall::from_manifest_name(name), None, "{name:?}");
    }
}

#[test]
fn policies_are_as_documented() {
    let with = |policy| {
        Hypercall::ALL
            .into_iter()
            .filter(|h| h.policy() == policy)
            .collect::<Vec<_>>()
    };
    use Hypercall::*;
    assert_eq!(
        with(Policy::Always),
        [Exit, Panic, GateViolation, OutOfMemory]
    );
    assert_eq!(with(Policy::Fixture), [ConformanceReport, SwitchView]);
    assert_eq!(
        with(Policy::Manifest),
        [
            ConsoleWrite,
            ExitCount,
            RegisterExport,
            Lookup,
            Grant,
            Report,
            AppReport
        ]
    );
    // A manifest names exactly the hypercalls that are not fixture-only and not
    // GATE_VIOLATION (gate code, not the compartment, makes it).
    for call in Hypercall::ALL {
        let nameable = call.policy() != Policy::Fixture && call != GateViolation;
        assert_eq!(call.manifest_name().is_some(), nameable, "{call:?}");
    }
}

#[test]
fn the_sets_hold_what_they_say() {
    assert_eq!(HypercallSet::ALL.len(), COUNT);
    assert!(
        Hypercall::ALL
            .iter()
            .all(|h| HypercallSet::ALL.contains(*h))
    );
    assert_eq!(HypercallSet::EMPTY.len(), 0);
    assert!(HypercallSet::EMPTY.is_empty());
    for call in Hypercall::ALL {
        let policy = call.policy();
        assert_eq!(
            HypercallSet::MINIMAL.contains(call),
            policy == Policy::Always
        );
        assert_eq!(
            HypercallSet::GRANTABLE.contains(call),
            policy != Policy::Fixture
        );
        assert_eq!(HypercallSet::EMPTY.allows(call), policy == Policy::Always);
        assert_eq!(HypercallSet::ALL.allows(call), policy != Policy::Fixture);
    }
    let manifest: HypercallSet = Hypercall::MANIFEST.into_iter().collect();
    assert_eq!(
        manifest.union(HypercallSet::MINIMAL),
        HypercallSet::GRANTABLE
    );
    assert_eq!(
        format!("{:?}", HypercallSet::MINIMAL),
        "{Exit, Panic, GateViolation, OutOfMemory}"
    );
}

#[test]
fn registers_follow_the_abi() {
    for call in Hypercall::ALL {
        let slots: Vec<usize> = call
            .args()
            .iter()
            .map(|a| a.register.argument_slot().expect("an argument register"))
            .collect();
        assert!(slots.windows(2).all(|w| w[0] < w[1]), "{call:?}: {slots:?}");
        let results: Vec<Register> = call.results().iter().map(|r| r.register).collect();
        let expected: &[Register] = match call {
            Hypercall::Grant => &[Register::Rax, Register::Rdx, Register::R10],
            _ => &[Register::Rax],
        };
        assert_eq!(results, expected, "{call:?}");
    }
    for (slot, register) in Register::ARGUMENTS.into_iter().enumerate() {
        assert_eq!(register.argument_slot(), Some(slot));
    }
    assert_eq!(Register::Rax.argument_slot(), None);
    assert_eq!(Register::R10.name(), "r10");
}

#[test]
fn what_the_sdk_generates_matches_the_enum() {
    let mut wrappers = BTreeSet::new();
    for (name, _, call, function, args, results, doc) in ROWS {
        assert_eq!(call.fn_name(), *function);
        assert_eq!(
            function.to_ascii_uppercase(),
            *name,
            "wrapper named after {name}"
        );
        assert!(wrappers.insert(*function), "{function} twice");
        let arg_names: Vec<&str> = call.args().iter().map(|a| a.name).collect();
        assert_eq!(arg_names, *args, "{name}");
        let result_names: Vec<&str> = call.results().iter().map(|r| r.name).collect();
        assert_eq!(result_names, *results, "{name}");
        assert_eq!(call.doc(), *doc, "{name}");
        assert!(doc.len() > 40, "{name} is documented");
        // Parameter names are Rust identifiers, distinct within a row.
        let distinct: BTreeSet<&str> = args.iter().copied().collect();
        assert_eq!(distinct.len(), args.len(), "{name}");
    }
    // A doc's links are absolute (`tessera_abi::`), so they resolve in the SDK too.
    for call in Hypercall::ALL {
        assert!(!call.doc().contains("(crate::"), "{call:?}");
        assert!(!call.doc().contains("[`crate::"), "{call:?}");
    }
}
