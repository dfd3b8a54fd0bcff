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

/// An activation in trapped mode whose budget a switch could reset would never be
/// stopped: a refused call (the callee's gate bounces REFUSE back), a reply a view sends
/// itself with a frame it forged in its own state page, or a reply bounced off another
/// view must not end or renew the running activation.
#[test]
fn no_reply_renews_the_running_activation() {
    type Trick = fn(&mut Watchdog, u64);
    let tricks: [(&str, Trick); 3] = [
        ("refused call", |w, now| {
            w.switched(now, 1, 2, Switch::Other);
            w.switched(now + 5, 2, 1, Switch::Reply { at_base: false });
        }),
        ("reply to itself", |w, now| {
            w.switched(now, 1, 1, Switch::Reply { at_base: false });
        }),
        ("reply bounced off a third view", |w, now| {
            w.switched(now, 1, 2, Switch::Reply { at_base: false });
            w.switched(now + 5, 2, 1, Switch::Reply { at_base: false });
        }),
    ];
    for (what, trick) in tricks {
        let mut w = dog(3, true);
        w.start_main(0, 0);
        w.switched(10, 0, 1, Switch::Call);
        let mut now = 10;
        let mut stopped = None;
        // 1 plays its trick every 900 ticks of its own, forever.
        while now < 20 * B && stopped.is_none() {
            now += 900;
            match w.check(now, 1, false) {
                Verdict::Overrun { view, used, .. } => stopped = Some((view, used, now)),
                _ => trick(&mut w, now),
            }
        }
        let (view, used, at) = stopped.unwrap_or_else(|| panic!("{what}: never stopped"));
        assert_eq!(view, 1, "{what}");
        assert!(used >= B && at <= 10 + 2 * B, "{what}: used {used} at {at}");
    }
}

/// The replies that do end an activation still do: the callee's return to its caller,
/// and, for a stack L1 began in the middle of (hardware mode turned trapped), a return to
/// a view L1 never saw call (the main at its base).
#[test]
fn returns_end_activations_and_unwind_to_the_receiver() {
    let mut w = dog(4, true);
    w.start_main(0, 0);
    w.switched(10, 0, 1, Switch::Call);
    w.switched(20, 1, 2, Switch::Call);
    w.switched(30, 2, 3, Switch::Call);
    assert_eq!(w.stack().len(), 4);
    // 3 returns straight to 1 (whose gate resumes a call to 3 it had pending from
    // before): 1's own activation is charged from now on, 2's is over.
    w.switched(40, 3, 1, Switch::Reply { at_base: false });
    assert_eq!(
        w.stack().last().map(|a| (a.view, a.caller)),
        Some((1, Some(0)))
    );
    assert_eq!(w.stack().len(), 2);
    w.switched(50, 1, 0, Switch::Reply { at_base: true });
    assert_eq!(w.stack().len(), 1);
    // An ambient stack (trapped mode began inside 2's activation): 2 returns to the main
    // at its base, which L1 never saw call it.
    let mut w = dog(3, false);
    w.start_main(0, 0);
    assert_eq!(w.check(B, 2, false), Verdict::Trap);
    w.switched(B + 10, 2, 0, Switch::Reply { at_base: true });
    assert_eq!(w.stack().len(), 1);
    assert_eq!(w.stack()[0].view, 0);
    assert_eq!(w.stack()[0].budget, None);
}

/// The hole the red team closed (docs/gates.md "Watchdog"): views that take turns at
/// bouncing replies off each other — each turn a reply into a view with no activation on
/// the stack, which used to run on a fresh budget while the sender's activation paid only
/// for its own bounce — keep the thread forever from the honest caller that called the
/// first of them. Each turn's ticks now go to the sender's activation: it is stopped
/// within twice its budget, whether two views ping-pong or three go round.
#[test]
fn colluding_views_taking_turns_spend_the_senders_budget() {
    for ring in [&[2usize][..], &[2, 3][..]] {
        let mut w = dog(4, true);
        w.start_main(0, 0);
        w.switched(10, 0, 1, Switch::Call);
        let mut now = 10;
        let mut stopped = None;
        'turns: while now < 20 * B {
            // 1 bounces off the ring and the ring comes back to 1; each colluder spends
            // most of a budget of its own per turn, 1 only a little.
            let mut from = 1;
            for &to in ring {
                now += 100;
                if let Verdict::Overrun { view, used, .. } = w.check(now, from, false) {
                    stopped = Some((view, used, now));
                    break 'turns;
                }
                w.switched(now, from, to, Switch::Reply { at_base: false });
                now += B / 2;
                assert_eq!(w.check(now, to, false), Verdict::Continue, "{ring:?}");
                from = to;
            }
            w.switched(now, from, 1, Switch::Reply { at_base: false });
        }
        let (view, used, at) = stopped.unwrap_or_else(|| panic!("{ring:?}: never stopped"));
        assert_eq!(view, 1, "{ring:?}: the sender is the one stopped");
        assert!(
            used >= B && at <= 10 + 3 * B,
            "{ring:?}: used {used} at {at}"
        );
    }
}

#[test]
fn untrapped_means_check_would_continue_and_charge_nothing() {
    // The emulated switch's fast path skips `check` exactly while `untrapped_for` is
    // `Some`, and arms the timer with it: it must be `timer`, and `check` must say
    // `Continue` there; from the period's end on it is `None` and `check` traps.
    let mut w = dog(2, false);
    w.start_main(0, 100);
    for now in [100, 101, 100 + B / 2, 100 + B - 1] {
        assert_eq!(w.untrapped_for(now), Some(w.timer(now)));
        assert!(w.untrapped_at(now) && !w.period_over(now));
        let mut probe = w.clone();
        assert_eq!(probe.check(now, 1, false), Verdict::Continue);
        assert_eq!(probe.stack(), w.stack());
    }
    assert_eq!(w.untrapped_for(100 + B), None);
    assert!(w.period_over(100 + B));
    assert_eq!(w.check(100 + B, 1, false), Verdict::Trap);
    assert_eq!(w.untrapped_for(100 + B + 1), None, "trapped");
    assert!(!w.period_over(100 + B + 1));
    // Always trapped (no hardware mode): never untrapped.
    let mut t = dog(2, true);
    t.start_main(0, 0);
    assert_eq!(t.untrapped_for(1), None);
}
