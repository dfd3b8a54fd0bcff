//! The gate, modelled as the assembly decides: landing (gate_land with its refusals),
//! calls and returns through a slot.

use super::*;

impl Machine {
    /// Runs the receiving gate of `to` on `msg` (gate_land), following refusals.
    pub(crate) fn land(&mut self, to: usize, msg: Message) {
        let (v, f) = (&self.views[to], self.fr(to));
        let reads = protocol::reads(
            &msg,
            u64::from(v.stopped) * status::CALLEE_FAILED,
            &v.callers,
            &v.exports,
            // The info page's DEPTH_LIMIT (2 × max_depth) and the state page's DEPTH.
            (2 * v.max_depth, f.depth as u64, f.top()),
        );
        let (decision, claims) = self.busy_or(to, protocol::receive(&msg, &reads));
        self.note(format!("  {msg:?} lands in {to}: {decision:?}"));
        self.enter(to);
        match decision {
            Decision::Accept(_) => {
                let rsp = self.fresh_rsp();
                let tag = state::tag(state::IN, msg.source, msg.at);
                let trail = self.trail[self.cur].len();
                let f = self.fr_mut(to);
                if f.push(tag, rsp, trail).is_err() {
                    return self.stop_current(Cause::OwnFault);
                }
                f.active = f.active.wrapping_add(1);
                f.sources.push((msg.source, tag, claims));
                if claims {
                    self.views[to].owner = Some(self.cur);
                }
                self.check_honest_has_control(to);
                self.serve_entered(to);
            }
            Decision::Resume => {
                self.fr_mut(to).depth -= 1;
                self.check_honest_has_control(to);
            }
            Decision::Refuse(word) => {
                let back = Message {
                    source: to as u64,
                    op: op::REFUSE,
                    word,
                    at: 0,
                };
                let source = msg.source as usize;
                if source < self.views.len() {
                    self.land(source, back);
                } else {
                    // A pad-jump source that is no view: the slot's VMFUNC would exit 59
                    // in this very view, which executes it: its own fault.
                    self.stop_current(Cause::OwnFault);
                }
            }
            Decision::Stray => self.l1_settle(),
        }
    }

    /// The gate's serial rule, as the assembly does it: a CALL accepted into a serial
    /// view whose DEPTH on this vCPU is below 2 (`CLAIM_BELOW`: no activation here; 1
    /// is its main waiting in a call) does `lock cmpxchg OWNER, 0 → CPU+1`. Claimed:
    /// the activation releases OWNER when it returns (`true`, kept with it as the gate
    /// keeps it: which continuation its `call` returns to). Already this thread's:
    /// accepted, nothing claimed. Another thread's: REFUSE(BUSY), nothing changed.
    /// Nested calls (DEPTH ≥ 2) and parallel views skip all of it.
    fn busy_or(&self, to: usize, decision: Decision) -> (Decision, bool) {
        let (v, f) = (&self.views[to], self.fr(to));
        match decision {
            Decision::Accept(_) if v.serial && f.depth < 2 => match v.owner {
                None => (decision, true),
                Some(o) if o == self.cur => (decision, self.release_unclaimed),
                Some(_) => (Decision::Refuse(BUSY), false),
            },
            d => (d, false),
        }
    }

    /// L1's release when it pops a serial view's last activation on this vCPU (settle;
    /// wired by the run loop: `World::release_owner`): no activation left here, the view
    /// is not this vCPU's running `main`, and OWNER is this vCPU's: OWNER = 0.
    pub(crate) fn release_if_idle(&mut self, view: usize) {
        let th = self.thread();
        let main_here = !th.over && th.main == view;
        let (cur, idle) = (self.cur, self.views[view].per_thread[self.cur].active == 0);
        let v = &mut self.views[view];
        if v.serial && idle && !main_here && v.owner == Some(cur) {
            v.owner = None;
        }
    }

    pub(crate) fn fresh_rsp(&mut self) -> u64 {
        self.next_rsp += 0x10;
        self.next_rsp
    }

    /// The executing view's gate call (gate_call): OUT frame, then the switch.
    pub(crate) fn gate_call(&mut self, target: usize, export: u64) {
        let me = self.thread().current;
        if target >= self.views.len() {
            return; // NO_SUCH_EXPORT without switching; the caller keeps running
        }
        let rsp = self.fresh_rsp();
        let (at, trail) = (self.fr(me).depth as u64, self.trail[self.cur].len());
        if self
            .fr_mut(me)
            .push(state::tag(state::OUT, target as u64, 0), rsp, trail)
            .is_err()
        {
            return self.stop_current(Cause::OwnFault);
        }
        self.land(
            target,
            Message {
                source: me as u64,
                op: op::CALL,
                word: export,
                at,
            },
        );
    }

    /// The export returned (the gate's path after `call rax`).
    pub(crate) fn gate_return(&mut self) {
        let me = self.thread().current;
        self.serve_returns(me);
        let f = self.fr_mut(me);
        let Some((source, tag, claimed)) = f.sources.pop() else {
            return self.stop_current(Cause::Corrupt);
        };
        if f.depth == 0 || f.tags[f.depth.min(MAX_FRAMES) - 1] != tag {
            return self.stop_current(Cause::Corrupt);
        }
        f.depth -= 1;
        f.active = f.active.wrapping_sub(1);
        // The activation that claimed OWNER stores 0 into it (unconditionally, as the
        // gate's `mov [OWNER], 0`); any other leaves it alone.
        if claimed {
            self.views[me].owner = None;
        }
        let to = source as usize;
        self.land(
            to,
            Message {
                source: me as u64,
                op: op::RETURN,
                word: status::OK,
                at: 0,
            },
        );
    }
}
