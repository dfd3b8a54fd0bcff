//! Property tests of the manifest: every valid manifest survives `to_text` → `parse`
//! unchanged; `parse` never panics on arbitrary or mutated text, and whatever it accepts
//! round-trips too; the callers bitmaps agree with `may_call`.

use proptest::prelude::*;
use std::collections::BTreeSet;
use tessera_abi::hypercall::{self as nr, Hypercall as Call};
use tessera_core::manifest::{
    Access, CompartmentDecl, Concurrency, DEFAULT_CONSOLE, DEFAULT_MAX_DEPTH, DEFAULT_MAX_RESTARTS,
    DataDecl, GrantDecl, Hypercall, HypercallSet, MAX_CONSOLE, MAX_HEAP, MAX_MAX_DEPTH, MAX_STACK,
    MAX_WATCHDOG, MIN_WATCHDOG, Manifest, RESERVED_NAMES, Restart,
};

fn name(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[a-z0-9_-]{{1,{max}}}"))
        .expect("regex")
        .prop_filter("reserved", |n| !RESERVED_NAMES.contains(&n.as_str()))
}

fn distinct(max_len: usize, count: std::ops::Range<usize>) -> impl Strategy<Value = Vec<String>> {
    // A set for uniqueness, then shuffled so declaration order is arbitrary.
    prop::collection::btree_set(name(max_len), count)
        .prop_map(|s| s.into_iter().collect::<Vec<_>>())
        .prop_shuffle()
}

fn hypercalls() -> impl Strategy<Value = HypercallSet> {
    // One bit per nameable hypercall (the table has room for 64).
    any::<u64>().prop_map(|bits| {
        let named = Hypercall::ALL
            .into_iter()
            .enumerate()
            .filter(|(i, _)| bits & (1 << i) != 0)
            .map(|(_, h)| h.call());
        HypercallSet::MINIMAL.union(named.collect())
    })
}

/// `watchdog=`, `max_depth=`, `console=`: often absent or at a bound.
fn limits() -> impl Strategy<Value = Limits> {
    (
        prop_oneof![
            Just(None),
            Just(Some(MIN_WATCHDOG)),
            Just(Some(MAX_WATCHDOG)),
            Just(Some(1 << 26)),
            (MIN_WATCHDOG..=MAX_WATCHDOG).prop_map(Some),
        ],
        prop_oneof![
            Just(DEFAULT_MAX_DEPTH),
            Just(1),
            Just(MAX_MAX_DEPTH),
            1..=MAX_MAX_DEPTH
        ],
        prop_oneof![
            Just(DEFAULT_CONSOLE),
            Just(0),
            Just(MAX_CONSOLE),
            0..=MAX_CONSOLE
        ],
    )
}

type Limits = (Option<u64>, u32, u64);

/// A valid manifest: 1–12 compartments, 0–4 grants.
fn manifest() -> impl Strategy<Value = Manifest> {
    distinct(32, 1..12).prop_flat_map(|names| {
        let n = names.len();
        let compartment = (
            distinct(64, 0..5),
            prop::collection::vec(any::<bool>(), n),
            hypercalls(),
            (
                prop_oneof![
                    Just(65536u64),
                    (1..=MAX_STACK / 4096).prop_map(|p| p * 4096)
                ],
                prop_oneof![Just(65536u64), (1..=MAX_HEAP / 4096).prop_map(|p| p * 4096)],
            ),
            limits(),
        );
        let grant = (
            name(32),
            (1u64..=256).prop_map(|p| p * 4096),
            prop::collection::vec(prop::option::of(any::<bool>()), n),
        );
        (
            Just(names),
            prop::collection::vec(compartment, n),
            prop::collection::vec(grant, 0..4),
        )
            .prop_map(|(names, decls, grants)| build(&names, decls, grants))
    })
}

type Decl = (Vec<String>, Vec<bool>, HypercallSet, (u64, u64), Limits);
type Grant = (String, u64, Vec<Option<bool>>);

fn build(names: &[String], decls: Vec<Decl>, grants: Vec<Grant>) -> Manifest {
    let compartments = names
        .iter()
        .zip(decls)
        .enumerate()
        .map(
            |(i, (name, (exports, calls, hypercalls, (stack, heap), limits)))| CompartmentDecl {
                name: name.clone(),
                exports,
                calls: names
                    .iter()
                    .zip(calls)
                    .enumerate()
                    .filter(|(j, (_, call))| *call && *j != i)
                    .map(|(_, (n, _))| n.clone())
                    .collect(),
                hypercalls,
                stack,
                heap,
                watchdog: limits.0,
                max_depth: limits.1,
                console: limits.2,
                // Derived from the other limits: both policies, limits 0–6 and the
                // default (a `never` line has no `max_restarts=`, so it keeps the default).
                restart: if limits.1 % 2 == 0 {
                    Restart::OnFault
                } else {
                    Restart::Never
                },
                max_restarts: if limits.1 % 2 == 0 {
                    (limits.2 % 7) as u32
                } else {
                    DEFAULT_MAX_RESTARTS
                },
                // Default (4096) and not, without another strategy.
                call_buffer: (stack / 4096 % 4 + 1) * 4096,
                // Both, and vCPUs 0 (the default) to 15, derived likewise.
                concurrency: if heap / 4096 % 2 == 0 {
                    Concurrency::Serial
                } else {
                    Concurrency::Parallel
                },
                cpu: (heap / 4096 % 16) as u32,
            },
        )
        .collect();
    let mut seen = BTreeSet::new();
    let grants = grants
        .into_iter()
        .filter(|(name, _, _)| seen.insert(name.clone()))
        .map(|(name, size, access)| {
            let mut access: Vec<(String, Access)> = names
                .iter()
                .zip(access)
                .filter_map(|(n, a)| {
                    Some((n.clone(), if a? { Access::ReadWrite } else { Access::Read }))
                })
                .collect();
            if access.is_empty() {
                access.push((names[0].clone(), Access::Read));
            }
            GrantDecl { name, size, access }
        })
        .collect();
    // Data for every third compartment (the text format writes them after the grants).
    let data = names
        .iter()
        .step_by(3)
        .enumerate()
        .map(|(i, n)| DataDecl {
            name: format!("d{i}"),
            compartment: n.clone(),
        })
        .collect();
    Manifest {
        compartments,
        grants,
        data,
    }
}

/// Text mutations of a valid manifest: drop, duplicate or swap lines and words, splice
/// in tokens that are nearly right.
#[derive(Clone, Debug)]
enum Edit {
    DropLine(usize),
    DupLine(usize),
    DropWord(usize),
    InsertWord(usize, &'static str),
    Truncate(usize),
}

const TOKENS: &[&str] = &[
    "=",
    ",",
    "exports=",
    "calls=",
    "stack=4096",
    "stack=0",
    "watchdog=1024",
    "watchdog=1023",
    "watchdog=",
    "max_depth=1",
    "max_depth=33",
    "console=0",
    "console=99999999999",
    "size=4096",
    "a=rw",
    "x=r",
    "hypercalls=",
    "#",
    "compartment",
    "grant",
    "tessera-manifest",
    "1",
    "\n",
    "manifest",
    "exports=a,a",
    "calls=zz",
    "\u{e9}",
    "\t",
];

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<usize>().prop_map(Edit::DropLine),
        any::<usize>().prop_map(Edit::DupLine),
        any::<usize>().prop_map(Edit::DropWord),
        (any::<usize>(), prop::sample::select(TOKENS)).prop_map(|(at, t)| Edit::InsertWord(at, t)),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

fn apply(text: &str, edit: &Edit) -> String {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let mut words: Vec<String> = text.split(' ').map(String::from).collect();
    if lines.is_empty() {
        return text.into();
    }
    match *edit {
        Edit::DropLine(at) => {
            lines.remove(at % lines.len());
            lines.join("\n")
        }
        Edit::DupLine(at) => {
            let line = lines[at % lines.len()].clone();
            lines.insert(at % lines.len(), line);
            lines.join("\n")
        }
        Edit::DropWord(at) => {
            words.remove(at % words.len());
            words.join(" ")
        }
        Edit::InsertWord(at, token) => {
            words.insert(at % (words.len() + 1), token.into());
            words.join(" ")
        }
        Edit::Truncate(at) => text.chars().take(at % (text.chars().count() + 1)).collect(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn to_text_round_trips(m in manifest()) {
        let text = m.to_text();
        prop_assert_eq!(Manifest::parse(&text), Ok(m), "{}", text);
    }

    #[test]
    fn mutated_text_never_panics_and_what_parses_round_trips(
        m in manifest(),
        edits in prop::collection::vec(edit(), 1..4),
    ) {
        let mut text = m.to_text();
        for e in &edits {
            text = apply(&text, e);
        }
        match Manifest::parse(&text) {
            Ok(parsed) => prop_assert_eq!(Manifest::parse(&parsed.to_text()), Ok(parsed)),
            Err(e) => {
                prop_assert!(e.line <= text.split('\n').count(), "{}", e);
                prop_assert!(!e.to_string().is_empty());
            }
        }
    }

    #[test]
    fn arbitrary_text_never_panics(body in "(?s).{0,400}") {
        let _ = Manifest::parse(&format!("tessera-manifest 1\n{body}"));
        let _ = Manifest::parse(&body);
    }

    #[test]
    fn callers_bitmaps_agree_with_may_call(m in manifest()) {
        let all = m.all_callers();
        prop_assert_eq!(all.len(), m.compartments.len());
        for (callee, bits) in all.iter().enumerate() {
            prop_assert_eq!(*bits, m.callers_of(callee));
            for caller in 0..512 {
                let set = bits[caller / 64] & (1 << (caller % 64)) != 0;
                prop_assert_eq!(set, m.may_call(caller, callee));
            }
        }
        for (view, c) in m.compartments.iter().enumerate() {
            prop_assert_eq!(m.index_of(&c.name), Some(view));
            for (i, e) in c.exports.iter().enumerate() {
                prop_assert_eq!(m.export_index(view, e), Some(i));
            }
            for h in Hypercall::ALL.map(Hypercall::call) {
                let always = matches!(h, Call::Exit | Call::Panic);
                prop_assert_eq!(m.allows_hypercall(view, h.number()), always || c.hypercalls.contains(h));
            }
            // The gate's violation report always; the fixture's hypercalls never.
            prop_assert!(m.allows_hypercall(view, nr::GATE_VIOLATION));
            prop_assert!(!m.allows_hypercall(view, nr::CONFORMANCE_REPORT));
            prop_assert!(!m.allows_hypercall(view, nr::SWITCH_VIEW));
        }
    }

    #[test]
    fn helpers_never_panic_on_hand_built_manifests(
        names in prop::collection::vec("[a-c]{0,2}", 0..6),
        calls in prop::collection::vec(prop::collection::vec("[a-c]{0,2}", 0..4), 6),
        view in 0usize..8,
        number in 0u64..10,
    ) {
        // Duplicate and empty names, calls to nowhere: not a parsed manifest, but the
        // helpers still answer.
        let m = Manifest {
            compartments: names.iter().zip(&calls).map(|(n, c)| CompartmentDecl {
                calls: c.clone(),
                ..CompartmentDecl::new(n.clone())
            }).collect(),
            grants: vec![],
            data: vec![],
        };
        let all = m.all_callers();
        prop_assert_eq!(all.len(), m.compartments.len());
        for (v, bits) in all.iter().enumerate() {
            prop_assert_eq!(*bits, m.callers_of(v));
        }
        let _ = (m.allows_hypercall(view, number), m.may_call(view, 0), m.grant_for(view, "a"));
        let _ = m.to_text();
    }
}
