//! Containment decisions (DESIGN §6, properties 2, 4 and 6): who is to blame for a fault,
//! and whose pending call must return an error when a compartment fails.

use crate::gate::landing_source;
use tessera_abi::gate::state;

/// One call-stack frame of a view's state page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    pub kind: u64,
    pub peer: u64,
    pub saved_rsp: u64,
}

/// The compartment to blame for a fault at `rip` while view `current` was loaded.
///
/// - `rip` inside a compartment's region: that compartment. After a rogue `VMFUNC` in
///   X's code to view T, the next fetch faults in T at an address in X's region: X did it.
/// - `rip` on a landing pad (a trap right after a switch, e.g. single-step): the pad's
///   source view, which executed the `VMFUNC` with those flags.
/// - Anywhere else (the gate code, a slot's `VMFUNC` itself, unmapped memory): `current`.
pub fn culprit(current: usize, rip: u64, region_owner: impl Fn(u64) -> Option<usize>) -> usize {
    if let Some(owner) = region_owner(rip) {
        return owner;
    }
    match landing_source(rip) {
        Some(source) => usize::try_from(source).unwrap_or(current),
        None => current,
    }
}

/// The compartment actually running: start at the view whose `main` runs and follow a
/// call A → B only when both halves agree — A's top frame is OUT to B *and* B's top
/// frame is IN from A. Each state page is writable only by its own view, so no
/// compartment can forge a link on its own, and none can make another look as if it runs.
pub fn running(main: usize, views: usize, top: impl Fn(usize) -> Option<Frame>) -> usize {
    let mut view = main;
    for _ in 0..views {
        let Some(out) = top(view).filter(|f| f.kind == state::OUT) else {
            break;
        };
        let Ok(peer) = usize::try_from(out.peer) else {
            break;
        };
        let answered = top(peer).is_some_and(|f| f.kind == state::IN && f.peer == view as u64);
        if peer >= views || !answered {
            break;
        }
        view = peer;
    }
    view
}

/// Final blame: a compartment other than the current view is blamed only if it is the
/// one running (it really executed the switch, or the code, that faulted); otherwise the
/// current view made the evidence up (jumped into another's landing pad, or to another's
/// code address in its own view) and is blamed itself.
pub fn blame(candidate: usize, current: usize, running: usize) -> usize {
    if candidate == current || candidate == running {
        candidate
    } else {
        current
    }
}

/// Finds the view waiting for `failed`: follow the tops of the state pages from the view
/// whose `main` is running (`main`), through every view that is waiting on an outgoing
/// call, until one waits on `failed`. `top(view)` reads a view's top frame. At most
/// `views` steps (a corrupted state page cannot make this loop).
pub fn waiting_caller(
    failed: usize,
    main: usize,
    views: usize,
    top: impl Fn(usize) -> Option<Frame>,
) -> Option<(usize, Frame)> {
    let mut view = main;
    for _ in 0..views {
        let frame = top(view)?;
        if frame.kind != state::OUT {
            return None;
        }
        let peer = usize::try_from(frame.peer).ok()?;
        if peer == failed {
            return Some((view, frame));
        }
        if peer >= views {
            return None;
        }
        view = peer;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_abi::gate::{SLOT_SIZE, SLOTS};

    fn out(peer: u64) -> Option<Frame> {
        Some(Frame {
            kind: state::OUT,
            peer,
            saved_rsp: 0x1000,
        })
    }

    #[test]
    fn blame_follows_the_code_not_the_view() {
        let owner = |rip: u64| {
            (0x0100_0000..0x0300_0000)
                .contains(&rip)
                .then(|| ((rip - 0x0100_0000) >> 24) as usize)
        };
        // Rogue VMFUNC by view 1 (region 0x0200_0000) into view 0: fault in view 0.
        assert_eq!(culprit(0, 0x0200_1003, owner), 1);
        // Own bad access.
        assert_eq!(culprit(0, 0x0100_2000, owner), 0);
        // Trap on view 3's landing pad while view 0 is loaded: view 3 switched.
        assert_eq!(culprit(0, SLOTS + 3 * SLOT_SIZE + 3, owner), 3);
        // int3 in a foreign slot, or the gate code: the current view.
        assert_eq!(culprit(2, SLOTS + 3 * SLOT_SIZE, owner), 2);
        assert_eq!(culprit(2, 0x0020_2010, owner), 2);
    }

    #[test]
    fn the_waiting_caller_is_found_along_the_chain() {
        // main 0 → 1 → 2; 2 fails: 1 is waiting.
        let top = |v: usize| match v {
            0 => out(1),
            1 => out(2),
            _ => Some(Frame {
                kind: state::IN,
                peer: 1,
                saved_rsp: 0,
            }),
        };
        assert_eq!(waiting_caller(2, 0, 3, top).map(|(v, _)| v), Some(1));
        // 1 fails: main 0 is waiting.
        assert_eq!(waiting_caller(1, 0, 3, top).map(|(v, _)| v), Some(0));
        // The main itself fails: nobody waits.
        assert_eq!(waiting_caller(0, 0, 3, top), None);
    }

    #[test]
    fn only_the_running_compartment_can_be_blamed_from_another_view() {
        let inn = |peer: u64| {
            Some(Frame {
                kind: state::IN,
                peer,
                saved_rsp: 0,
            })
        };
        // main 0 → 1 (1 has the IN frame): 1 runs.
        let chain = |v: usize| match v {
            0 => out(1),
            1 => inn(0),
            _ => None,
        };
        assert_eq!(running(0, 3, chain), 1);
        // 0 claims a call to 2, but 2 never took it: 0 runs.
        let forged = |v: usize| match v {
            0 => out(2),
            _ => None,
        };
        assert_eq!(running(0, 3, forged), 0);
        // Pad jump: 2 (current, running) reports a violation "by 1": blame 2.
        assert_eq!(blame(1, 2, 2), 2);
        // Forged return: 1 (running) switched into 2, 2 reports 1: blame 1.
        assert_eq!(blame(1, 2, 1), 1);
        // Rogue VMFUNC by the running 1 into view 0, fault at 1's code: blame 1.
        assert_eq!(blame(1, 0, 1), 1);
        // 2 jumps to victim 1's code in its own view: blame 2.
        assert_eq!(blame(1, 2, 2), 2);
    }

    #[test]
    fn corrupted_state_pages_cannot_loop_or_mislead_out_of_range() {
        let cycle = |v: usize| out(((v + 1) % 2) as u64);
        assert_eq!(waiting_caller(5, 0, 2, cycle), None);
        let wild = |_| out(9999);
        assert_eq!(waiting_caller(3, 0, 4, wild), None);
        assert_eq!(waiting_caller(1, 0, 2, |_| None), None);
    }
}
