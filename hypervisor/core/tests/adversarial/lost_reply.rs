//! Directed replays of histories the random ones found: an honest callee's return is
//! refused by its honest caller because a view the callee called re-entered the caller
//! and left that re-entrant activation on top of the caller's pending call. The caller's
//! call then ends in `CALLEE_FAILED` although its callee is honest and live: the reply
//! was lost to what the callee called, which the caller trusts for whether there is a
//! result (docs/gates.md "Faults and unwinding").

use super::*;

/// Views 0 (honest main), 1 (honest) and 2 (malicious), everyone calling everyone.
fn three_views() -> Machine {
    let mut rng = Rng(7);
    let mut m = Machine::new(&mut rng);
    m.views.truncate(3);
    for (i, v) in m.views.iter_mut().enumerate() {
        v.honest = i != 2;
        v.callers = [!0; 8];
        v.exports = vec![0x1000];
        v.max_depth = 4;
    }
    m.start_main(0);
    m.gate_call(1, 0); // 0 → 1
    m.gate_call(2, 0); // 1 → 2
    m.gate_call(0, 0); // 2 → 0 (re-entered)
    m.gate_call(2, 0); // 0 → 2
    assert_eq!(m.fr(0).depth, 3);
    m
}

/// The history of the failing seeds: 2 erases its frames (cutting the link 1 → 2) and
/// is stopped; L1 answers 1, whose return into 0 finds 0 still waiting on 2 above.
#[test]
fn a_reply_lost_under_a_stopped_re_entrant_callee_fails_only_the_callers_call() {
    let mut m = three_views();
    let f = m.fr_mut(2);
    f.depth = 0;
    f.active = 0;
    m.stop_current(Cause::Corrupt);
    assert_eq!(m.thread().current, 1, "1's call to the stopped 2 fails");
    m.gate_return(); // 1 returns OK: 0's gate refuses it (0 waits on 2), a stray at 1
    assert_eq!(m.thread().current, 0, "0's re-entrant call to 2 fails");
    m.gate_return(); // 0's re-entrant activation returns into the stopped 2: a stray
    assert_eq!(m.thread().current, 0);
    assert_eq!(m.fr(0).depth, 0, "0's call to 1 ends in CALLEE_FAILED");
    assert!(!m.thread().over);
}

/// The same without L1: 2 answers 1 itself while 0's re-entrant activation waits on it.
/// Only gates act until 1's return is refused, so no rule of L1 could keep the reply.
#[test]
fn a_reply_lost_to_a_malicious_callees_out_of_order_answer_fails_only_the_callers_call() {
    let mut m = three_views();
    let back = Message {
        source: 2,
        op: op::RETURN,
        word: status::OK,
        at: 0,
    };
    m.land(1, back); // 2 answers 1's call, leaving 0 re-entered above its call to 1
    assert_eq!(m.thread().current, 1);
    m.gate_return(); // refused by 0: a stray at 1; L1 resumes 0 (its call to 2 fails)
    assert_eq!(m.thread().current, 0);
    m.gate_return(); // 0's re-entrant activation returns into 2, which resumes
    assert_eq!(m.thread().current, 2);
    m.gate_return(); // 2 returns into 1, which waits for nothing: a stray at 2
    assert_eq!(m.thread().current, 0);
    assert_eq!(m.fr(0).depth, 0, "0's call to 1 ends in CALLEE_FAILED");
}
