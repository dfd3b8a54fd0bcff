//! The helpers the kernel asks: views, callers, hypercall sets, the implicit manifest.

use super::*;

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
