//! L1 as the run loop uses core: stop the executing view, settle the others
//! (`contain::settle`), and the invariant that an honest view only runs with control.

use super::*;

impl Machine {
    pub(crate) fn stop_current(&mut self, cause: Cause) {
        let me = self.thread().current;
        self.note(format!("  [t{}] L1 stops {me} ({cause:?})", self.cur));
        if self.views[me].honest && cause != Cause::OwnFault {
            self.fail(&format!("honest view {me} stopped: {cause:?}"));
        }
        self.views[me].stopped = true;
        self.l1_settle();
        self.stop_barrier(me);
    }

    pub(crate) fn l1_settle(&mut self) {
        let current = self.thread().current;
        let main = self.thread().main;
        self.truncations.clear();
        let before: Vec<View> = self.views.clone();
        let cur = self.cur;
        self.in_l1 = true;
        let (resume, done) = contain::settle(self, main);
        self.in_l1 = false;
        self.note(format!("  settle at {current}: {resume:?} {done:?}"));
        let resumed = match resume {
            Resume::Caller { view, .. } => Some(view),
            Resume::MainOver => None,
        };
        let guilty = |v: usize| !before[v].honest || before[v].stopped || self.views[v].stopped;
        for &(v, depth, len) in &self.truncations.clone() {
            if !before[v].honest || self.views[v].stopped {
                continue;
            }
            let (was, trail) = (&before[v].per_thread[cur], &self.trail[cur]);
            let (popped, peer) = (was.tags[len], state::peer(was.tags[len]) as usize);
            // What the callee called, on this thread since the call: it can lose the
            // callee's reply (it re-entered v and left that activation on top), and the
            // caller trusts it for whether there is a result (`lost_reply.rs`).
            let reached = trail.get(was.pushed[len]..).unwrap_or(&[]);
            let ok = len + 1 == depth
                && peer < self.views.len()
                && match state::kind(popped) {
                    state::OUT => {
                        resumed == Some(v) && (guilty(peer) || reached.iter().any(|&w| guilty(w)))
                    }
                    state::IN => guilty(peer),
                    _ => false,
                };
            if !ok {
                self.fail(&format!(
                    "L1 changed honest live view {v}'s frames {depth} -> {len} (resumed {resumed:?})"
                ));
            }
        }
        for &v in &done.abandoned {
            if before[v].honest && !self.truncations.iter().any(|t| t.0 == v) {
                self.fail(&format!("abandoned {v} without popping anything"));
            }
        }
        self.check_other_threads_untouched(&before);
        for v in 0..self.views.len() {
            self.release_if_idle(v); // where L1 popped a serial view's last activation
        }
        match resume {
            Resume::Caller { view, .. } => {
                self.enter(view);
                self.check_honest_has_control(view);
            }
            Resume::MainOver => {
                let m = &self.views[main];
                if m.honest && !m.stopped {
                    self.fail("an honest main's run ended without its own doing");
                }
                self.thread_mut().over = true;
            }
        }
    }

    /// Settling one thread reads and writes that thread's state pages only.
    fn check_other_threads_untouched(&self, before: &[View]) {
        for (v, was) in before.iter().enumerate() {
            for (t, frames) in was.per_thread.iter().enumerate() {
                if t != self.cur && self.views[v].per_thread[t] != *frames {
                    self.fail(&format!(
                        "settling thread {} changed view {v}'s frames on thread {t}",
                        self.cur
                    ));
                }
            }
        }
    }

    /// An honest view may only run its code in an activation (top frame IN) or as the
    /// `main` at its base.
    pub(crate) fn check_honest_has_control(&self, view: usize) {
        let (v, f) = (&self.views[view], self.fr(view));
        if !v.honest || v.stopped {
            return;
        }
        let ok = state::kind(f.top()) == state::IN || (view == self.thread().main && f.depth == 0);
        if !ok {
            self.fail(&format!("honest view {view} runs without an activation"));
        }
        self.check_not_reclaimed(view);
    }
}
