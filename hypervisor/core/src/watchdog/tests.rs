use super::*;

const B: u64 = 1000;

fn dog(views: usize, always_trapped: bool) -> Watchdog {
    Watchdog::new(
        Budgets {
            export: vec![B; views],
            main: vec![None; views],
        },
        always_trapped,
    )
}

#[test]
fn a_looping_callee_is_stopped_within_twice_its_budget() {
    // Hardware mode: main 0 calls 1 (no exit), 1 loops with exits every 10 ticks.
    let mut w = dog(2, false);
    w.start_main(0, 0);
    let mut now = 0;
    let mut verdict = Verdict::Continue;
    while now < 10 * B {
        now += 10;
        verdict = w.check(now, 1, false);
        if matches!(verdict, Verdict::Overrun { .. }) {
            break;
        }
        if verdict == Verdict::Trap {
            assert_eq!(now, B);
        }
    }
    assert_eq!(
        verdict,
        Verdict::Overrun {
            view: 1,
            budget: B,
            used: B
        }
    );
    assert!(now <= 2 * B, "stopped after {now}");
}

#[test]
fn a_caller_cannot_make_the_budget_expire_on_its_callee() {
    // The caller (an export of view 1, called by main 0) burns the period, then calls
    // view 2 just before it ends; the timer expires in view 2.
    let mut w = dog(3, false);
    w.start_main(0, 0);
    assert_eq!(w.check(B - 5, 1, false), Verdict::Continue);
    assert_eq!(w.check(B, 2, false), Verdict::Trap);
    // The callee runs 900 ticks (under its budget), then returns to 1.
    assert_eq!(w.check(B + 900, 2, false), Verdict::Continue);
    w.switched(B + 900, 2, 1, Switch::Reply { at_base: false });
    assert_eq!(w.stack().len(), 1);
    assert_eq!(w.stack()[0].view, 1);
    assert_eq!(w.stack()[0].used, 0);
    // 1 returns to the main: back to hardware mode.
    w.switched(B + 950, 1, 0, Switch::Reply { at_base: true });
    assert_eq!(w.check(B + 960, 0, true), Verdict::Untrap);
    assert!(!w.trapped());
}

#[test]
fn trapped_accounting_excludes_callees_and_survives_exits() {
    let mut w = dog(3, true);
    w.start_main(0, 0);
    w.switched(100, 0, 1, Switch::Call);
    // 1 runs 600 ticks, calls 2 which runs 5000 (and overruns, in its own view).
    w.switched(700, 1, 2, Switch::Call);
    assert_eq!(w.timer(700), B);
    assert_eq!(
        w.check(1700, 2, false),
        Verdict::Overrun {
            view: 2,
            budget: B,
            used: B
        }
    );
    // L1 stops 2 and resumes 1 (chain depth 2): 1 has used 600 of its budget.
    w.resumed(1800, 1, 2);
    assert_eq!(w.stack().last().map(|a| (a.view, a.used)), Some((1, 600)));
    assert_eq!(w.timer(1800), B - 600);
    assert_eq!(w.check(2100, 1, false), Verdict::Continue);
    assert_eq!(
        w.check(2500, 1, false),
        Verdict::Overrun {
            view: 1,
            budget: B,
            used: 1300
        }
    );
}

#[test]
fn refusals_are_charged_to_the_sender_and_nobody_else_is_stopped() {
    let mut w = dog(3, true);
    w.start_main(0, 0);
    w.switched(0, 0, 1, Switch::Call);
    // 1 sends a forged message to 2, whose gate refuses it: still 1's time.
    w.switched(10, 1, 2, Switch::Other);
    // The budget runs out while 2's gate is refusing: 2 is not stopped.
    assert_eq!(w.check(2 * B, 2, false), Verdict::Continue);
    assert_eq!(w.timer(2 * B), GRACE);
    w.switched(2 * B + 10, 2, 1, Switch::Other);
    assert!(matches!(
        w.check(2 * B + 20, 1, false),
        Verdict::Overrun { view: 1, .. }
    ));
}

#[test]
fn unbounded_mains_cost_one_exit_per_period() {
    let mut w = dog(2, false);
    w.start_main(0, 0);
    assert_eq!(w.timer(0), B);
    assert_eq!(w.check(B, 0, true), Verdict::Continue);
    assert!(!w.trapped());
    assert_eq!(w.timer(B + 10), B - 10);
    // A bounded main is charged like an export.
    let mut w = Watchdog::new(
        Budgets {
            export: vec![B, B],
            main: vec![Some(5 * B), None],
        },
        true,
    );
    w.start_main(0, 0);
    assert_eq!(w.timer(0), 5 * B);
    assert!(matches!(
        w.check(5 * B, 0, true),
        Verdict::Overrun { view: 0, .. }
    ));
}
