//! The oracle against a transcription of the SDM, derived by hand per rule set.

use super::oracle::*;
use super::rows::parse;

fn tiger() -> Rules {
    Rules {
        ad: true,
        sss: true,
        uc: true,
        wb: true,
        maxphyaddr: 39,
        ve: true,
        ept: true,
        ..Rules::default()
    }
}

fn kvm() -> Rules {
    Rules {
        ad: true,
        wb: true,
        maxphyaddr: 40,
        ept: true,
        ..Rules::default()
    }
}

fn npt() -> Rules {
    Rules {
        uc: true,
        wb: true,
        maxphyaddr: 40,
        ..Rules::default()
    }
}

/// `row` (one line of the row format) under `rules`, as `WORD rip= view= index=`.
fn sdm(row: &str, rules: Rules) -> String {
    let rows = parse(row, "t").expect("row");
    expect(&rows[0], &rules, Assume::NONE).to_string()
}

/// Hand-derived from the SDM for each rule set (module docs), not from the code.
#[test]
fn the_sdm_transcription() {
    let cases: &[(&str, Rules, &str)] = &[
        ("r", tiger(), "switch rip=+0x803 view=1 index=1"),
        ("r", kvm(), "switch rip=+0x803 view=1 index=-"),
        ("r rcx=0", tiger(), "switch rip=+0x803 view=0 index=0"),
        ("r rcx=512", tiger(), "exit59 rip=+0x803 view=0 index=0"),
        (
            "r rcx=3 entry=clone+type=0",
            tiger(),
            "switch rip=+0x803 view=3 index=3",
        ),
        (
            "r rcx=3 entry=clone+type=0",
            kvm(),
            "exit59 rip=+0x803 view=0 index=-",
        ),
        (
            "r rcx=5 entry=clone+ad",
            npt(),
            "exit59 rip=+0x803 view=0 index=-",
        ),
        (
            "r rcx=6 entry=clone+bit=7",
            tiger(),
            "switch rip=+0x803 view=6 index=6",
        ),
        (
            "r rcx=6 entry=clone+bit=7",
            kvm(),
            "exit59 rip=+0x803 view=0 index=-",
        ),
        (
            "r rcx=6 entry=clone+bit=9",
            tiger(),
            "exit59 rip=+0x803 view=0 index=0",
        ),
        (
            "r rcx=2 entry=zero",
            tiger(),
            "exit59 rip=+0x803 view=0 index=0",
        ),
        ("r rax=64", kvm(), "ud rip=+0x800 view=0 index=-"),
        ("r rax=63", kvm(), "exit59 rip=+0x803 view=0 index=-"),
        (
            "r rax=0x100000000",
            kvm(),
            "switch rip=+0x803 view=1 index=-",
        ),
        // Prefixes: length counts them; 66/F2/F3/LOCK #UD; 16 bytes #GP(0).
        (
            "r bytes=480f01d4",
            kvm(),
            "switch rip=+0x804 view=1 index=-",
        ),
        (
            "r bytes=2e670f01d4 rcx=512",
            kvm(),
            "exit59 rip=+0x805 view=0 index=-",
        ),
        ("r bytes=f30f01d4", kvm(), "ud rip=+0x800 view=0 index=-"),
        ("r bytes=f00f01d4", kvm(), "ud rip=+0x800 view=0 index=-"),
        (
            "r bytes=2e2e2e2e2e2e2e2e2e2e2e2e2e0f01d4",
            kvm(),
            "gp0 rip=+0x800 view=0 index=-",
        ),
        // Flags and pages.
        ("r flags=tf", tiger(), "db rip=+0x803 view=1 index=1"),
        ("r flags=movss", tiger(), "switch rip=+0x803 view=1 index=1"),
        (
            "r rcx=512 flags=tf",
            tiger(),
            "exit59 rip=+0x803 view=0 index=0",
        ),
        ("r place=end", kvm(), "switch rip=+0x1000 view=1 index=-"),
        (
            "r rcx=10 entry=next-nx place=end",
            kvm(),
            "ept-violation:x@+0x1000 rip=+0x1000 view=10 index=-",
        ),
        (
            "r rcx=11 entry=next-unmapped place=straddle:1",
            npt(),
            "npf:x@+0x1002 rip=+0x1002 view=11 index=-",
        ),
        (
            "r start=next-nx place=straddle:2",
            tiger(),
            "ept-violation:x@+0x1000 rip=+0xffe view=0 index=0",
        ),
        (
            "r rcx=8 entry=unbacked",
            kvm(),
            "ept-violation:r@0x100000 rip=+0x803 view=8 index=-",
        ),
        (
            "r rcx=9 entry=misconfig",
            tiger(),
            "ept-misconfig@0x100000 rip=+0x803 view=9 index=9",
        ),
        // Other instructions.
        (
            "r bytes=66cd21",
            npt(),
            "gp:0x10a rip=+0x800 view=0 index=-",
        ),
        ("r bytes=f0cd21", npt(), "ud rip=+0x800 view=0 index=-"),
        ("r bytes=2ef1", kvm(), "icebp rip=+0x800 view=0 index=-"),
    ];
    for (row, rules, want) in cases {
        assert_eq!(sdm(row, *rules), *want, "{row} under {rules:?}");
    }
}

#[test]
fn deviations_change_only_what_they_say() {
    let rows = parse(
        "a rcx=512 flags=tf\nb start=next-nx place=straddle:2 flags=warm\nc rcx=8 entry=unbacked",
        "t",
    )
    .expect("rows");
    let bochs_db = Assume {
        exit59_keeps_single_step: true,
        ..Assume::NONE
    };
    let cached = Assume {
        cached_crossing_unchecked: true,
        ..Assume::NONE
    };
    assert_eq!(expect(&rows[0], &tiger(), bochs_db).word, "exit59+db");
    assert_eq!(expect(&rows[1], &tiger(), cached).word, "switch");
    assert_eq!(
        expect(&rows[1], &tiger(), Assume::NONE).word,
        "ept-violation:x@+0x1000"
    );
    assert_eq!(expect(&rows[2], &npt(), bochs_db).word, "npf:w@0x100000");
    let early = Assume {
        single_step_before_instruction: true,
        ..Assume::NONE
    };
    assert_eq!(
        expect(&rows[0], &kvm(), early).to_string(),
        "db rip=+0x800 view=0 index=-"
    );
    assert_eq!(
        expect(&rows[2], &kvm(), early).word,
        "ept-violation:r@0x100000"
    );
    assert_eq!(
        expect(&rows[2], &kvm(), cached).word,
        "ept-violation:r@0x100000"
    );
}
