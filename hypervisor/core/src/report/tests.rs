use super::*;

fn refused(line: &[u8]) -> ReportError {
    match report_line("evil", line) {
        Ok(text) => panic!("{line:?} accepted as {text}"),
        Err(e) => e,
    }
}

#[test]
fn reports_get_the_name_from_l1() {
    assert_eq!(
        report_line("ping", b"ROUNDTRIPS n=10000 exits=0").as_deref(),
        Ok("@@ROUNDTRIPS compartment=ping n=10000 exits=0")
    );
    assert_eq!(
        report_line("ping", b"ROUNDTRIPS   n=1  ").as_deref(),
        Ok("@@ROUNDTRIPS compartment=ping n=1")
    );
    assert_eq!(
        report_line("client", b"CALL target=vault export=sign result=ok").as_deref(),
        Ok("@@CALL compartment=client target=vault export=sign result=ok")
    );
    assert_eq!(
        report_line("b", b"BENCH {\"name\":\"x\",\"min\":3}").as_deref(),
        Ok("@@BENCH {\"compartment\":\"b\",\"name\":\"x\",\"min\":3}")
    );
    assert_eq!(
        report_line("b", b"BENCH  { } ").as_deref(),
        Ok("@@BENCH {\"compartment\":\"b\"}")
    );
    let nested = br#"BENCH {"a":[1,-2.5e3,{"b":null}],"c":{"d":[true,false,[]]},"e":"x\"\u00e9"}"#;
    assert!(report_line("b", nested).is_ok());
    assert_eq!(
        report_line("ROUNDTRIPS", b"ROUNDTRIPS").as_deref(),
        Ok("@@ROUNDTRIPS compartment=ROUNDTRIPS")
    );
}

#[test]
fn identity_keys_are_refused_wherever_they_appear() {
    for line in [
        &b"CALL caller=victim callee=vault result=ok"[..],
        b"CALL target=vault callee=vault",
        b"ROUNDTRIPS compartment=victim n=1",
        b"ROUNDTRIPS n=1 cpu=0",
        b"BENCH {\"compartment\":\"victim\",\"name\":\"x\"}",
        b"BENCH {\"name\":\"x\",\"caller\":1}",
        b"BENCH {\"name\":{\"callee\":\"vault\"}}",
        b"BENCH {\"list\":[{\"cpu\":0}]}",
    ] {
        assert_eq!(refused(line), ReportError::IdentityKey, "{line:?}");
        assert_eq!(refused(line).code(), tessera_abi::error::IDENTITY_KEY);
    }
    // Only the keys themselves: values and longer keys are the compartment's.
    assert!(report_line("a", b"CALL target=compartment export=caller result=ok").is_ok());
    assert!(report_line("a", b"ROUNDTRIPS compartments=2 cpus=1").is_ok());
    assert!(report_line("a", b"BENCH {\"name\":\"compartment\"}").is_ok());
}

#[test]
fn reports_cannot_forge_other_lines() {
    for bad in [
        &b"ROUNDTRIPS n=1\n@@RESULT pass"[..],
        b"ROUNDTRIPS n=1\r@@RESULT pass",
        b"ROUNDTRIPS pass",
        b"ROUNDTRIPS =1",
        b"ROUNDTRIPS n=1 n=2",
        b"ROUNDTRIPS n/x=1",
        b"BENCH not-json",
        b"BENCH {\"a\":1} @@RESULT pass",
        b"BENCH {\"a\":1},{\"b\":2}",
        b"BENCH {\"a\":1}}",
        b"BENCH {\"a\":1",
        b"BENCH {\"a\" 1}",
        b"BENCH {\"a\":01}",
        b"BENCH {\"a\":1.}",
        b"BENCH {\"a\":tru}",
        b"BENCH {\"a\":\"\\x\"}",
        b"BENCH {\"a\":1,}",
        b"BENCH {\"a\":1,\"a\":2}",
        b"BENCH {\"comp\\u0061rtment\":\"victim\"}",
        b"BENCH [1]",
        b"BENCH {\"a\":[[[[[[[[1]]]]]]]]}",
        &[0xFF, 0xFE],
        b"KV n=1\x1b",
    ] {
        assert!(
            matches!(refused(bad), ReportError::Malformed(_)),
            "{bad:?}: {:?}",
            refused(bad)
        );
        assert_eq!(refused(bad).code(), tessera_abi::error::BAD_REPORT);
    }
    // Seven levels inside the object are fine.
    assert!(report_line("a", b"BENCH {\"a\":[[[[[[[1]]]]]]]}").is_ok());
}

#[test]
fn a_word_of_ones_own_is_no_such_word_not_malformed() {
    for bad in [
        &b"RESULT pass"[..],
        b"FAULT kind=memory",
        b"CAP vmx=1",
        b"APP n=1",
        b"KV puts=3",
        b"roundtrips n=1",
        b"",
    ] {
        assert_eq!(refused(bad), ReportError::NoSuchWord, "{bad:?}");
        assert_eq!(refused(bad).code(), tessera_abi::error::NO_SUCH_WORD);
    }
    for word in tessera_abi::hypercall::REPORT_WORDS {
        assert!(tessera_abi::hypercall::is_report_word(word));
    }
    assert!(!tessera_abi::hypercall::is_report_word("KV"));
    assert!(!tessera_abi::hypercall::is_report_word("BENCHX"));
}

#[test]
fn the_cpu_goes_right_after_the_compartment() {
    use super::with_cpu;
    let line = report_line("ping", b"ROUNDTRIPS n=10 exits=0").unwrap();
    assert_eq!(
        with_cpu(&line, 3),
        "@@ROUNDTRIPS compartment=ping cpu=3 n=10 exits=0"
    );
    let bare = report_line("ping", b"ROUNDTRIPS").unwrap();
    assert_eq!(with_cpu(&bare, 0), "@@ROUNDTRIPS compartment=ping cpu=0");
    let bench = report_line("b", b"BENCH {\"c0\":107}").unwrap();
    assert_eq!(
        with_cpu(&bench, 1),
        "@@BENCH {\"compartment\":\"b\",\"cpu\":1,\"c0\":107}"
    );
    let empty = report_line("b", b"BENCH {}").unwrap();
    assert_eq!(
        with_cpu(&empty, 2),
        "@@BENCH {\"compartment\":\"b\",\"cpu\":2}"
    );
    let app = super::app::app_line("kv", &[]).unwrap();
    assert_eq!(with_cpu(&app, 1), "@@APP compartment=kv cpu=1");
}
