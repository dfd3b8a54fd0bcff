//! The SDK's `serve!` server (`sdk/src/typed.rs`, `Server::with`), modelled in every
//! honest view: each activation takes the view's server when it enters and gives it back
//! when it returns, holding it across the calls it makes, as a `&mut self` body does.
//!
//! The rule under attack: a call refuses (`Busy`) while the holder's IN frame is still
//! where it was — at or below the caller's depth, same tag, same activation number —
//! and otherwise takes the server over, since then the holder can never run again. The
//! red team's `attack-abandon` (scenario `redteam`) left a holder behind for good before
//! the rule. Checked here, whatever malicious views and L1's unwinding do: an activation
//! whose loan was taken over never runs again (else two `&mut` would alias), and no
//! server is refused for a holder from an earlier `main`'s run (for ever). One thread
//! only: the SDK keeps the numbers in the compartment's own memory, which `smp.rs`'s
//! threads would share.

use super::*;

/// One view's server: the holder's (depth, IN tag, number) and the numbers of the
/// activations whose loan was taken over.
#[derive(Debug, Clone, Default)]
pub(crate) struct Server {
    holder: Option<(usize, u64, u64)>,
    voided: Vec<u64>,
}

impl Machine {
    /// `(tag, number)` of the IN frame at `depth - 1` of `view` (both 0 for the base).
    fn identity(&self, view: usize, depth: usize) -> (u64, u64) {
        let f = self.fr(view);
        match depth.checked_sub(1).filter(|&i| i < MAX_FRAMES) {
            Some(i) => (f.tags[i], f.numbers[i]),
            None => (0, 0),
        }
    }

    /// The activation on top of honest `view` entered: `typed::serve` numbers it, then
    /// `Server::with` lends it the server or refuses.
    pub(crate) fn serve_entered(&mut self, view: usize) {
        if self.threads.len() != 1 || !self.views[view].honest {
            return;
        }
        self.last_number += 1;
        let (number, depth) = (self.last_number, self.fr(view).depth);
        if let Some(i) = depth.checked_sub(1).filter(|&i| i < MAX_FRAMES) {
            self.fr_mut(view).numbers[i] = number;
        }
        let me = (depth, self.identity(view, depth).0, number);
        let server = &self.views[view].server;
        match server.holder {
            Some((at, tag, n)) if at <= depth && self.identity(view, at) == (tag, n) => {
                self.note(format!(
                    "  {view}'s server is busy (held by activation {n})"
                ));
                // Never for good: a new `main` empties the stacks, so a holder from an
                // earlier run is always taken over.
                if n <= self.main_started {
                    self.fail(&format!(
                        "{view}'s server is still held from an earlier run"
                    ));
                }
            }
            old => {
                if let Some((_, _, n)) = old {
                    self.note(format!("  {view}'s server taken over from activation {n}"));
                    self.views[view].server.voided.push(n);
                }
                self.views[view].server.holder = Some(me);
            }
        }
    }

    /// Honest `view`'s top activation returns: it gives the server back if it holds it.
    pub(crate) fn serve_returns(&mut self, view: usize) {
        let depth = self.fr(view).depth;
        let running = self.identity(view, depth).1;
        let server = &mut self.views[view].server;
        if server
            .holder
            .is_some_and(|(_, _, n)| n == running && n != 0)
        {
            server.holder = None;
        }
    }

    /// Honest `view` runs its top activation: never one whose loan was taken over.
    pub(crate) fn check_not_reclaimed(&self, view: usize) {
        let f = self.fr(view);
        if state::kind(f.top()) != state::IN {
            return;
        }
        let running = self.identity(view, f.depth).1;
        if self.views[view].server.voided.contains(&running) {
            self.fail(&format!(
                "honest view {view} runs activation {running}, whose server was taken over"
            ));
        }
    }
}

/// The rule is not vacuous: some histories take a server over, some refuse it.
#[test]
fn servers_are_both_refused_and_taken_over_in_random_histories() {
    let (mut busy, mut taken) = (0, 0);
    for seed in 0u64..2_000 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut m = Machine::new(&mut rng);
        for main in 0..m.views.len() {
            if m.views[main].stopped {
                continue;
            }
            m.start_main(main);
            for _ in 0..300 {
                if m.thread().over {
                    break;
                }
                let me = m.thread().current;
                if m.views[me].honest {
                    m.honest_step(&mut rng);
                } else {
                    m.malicious_step(&mut rng);
                }
            }
        }
        busy += m
            .history
            .iter()
            .filter(|h| h.contains("server is busy"))
            .count();
        taken += m
            .history
            .iter()
            .filter(|h| h.contains("taken over"))
            .count();
    }
    assert!(busy > 0 && taken > 0, "busy {busy}, taken over {taken}");
}
