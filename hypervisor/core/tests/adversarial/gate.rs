//! The gate, modelled as the assembly decides: landing (gate_land with its refusals),
//! calls and returns through a slot.

use super::*;

impl Machine {
    /// Runs the receiving gate of `to` on `msg` (gate_land), following refusals.
    pub(crate) fn land(&mut self, to: usize, msg: Message) {
        let v = &self.views[to];
        let reads = protocol::reads(
            &msg,
            u64::from(v.stopped) * status::CALLEE_FAILED,
            &v.callers,
            &v.exports,
            (v.max_depth, v.active, v.top()),
        );
        let decision = protocol::receive(&msg, &reads);
        self.note(format!("  {msg:?} lands in {to}: {decision:?}"));
        self.thread.current = to;
        match decision {
            Decision::Accept(_) => {
                let rsp = self.fresh_rsp();
                let tag = state::tag(state::IN, msg.source, msg.at);
                let v = &mut self.views[to];
                if v.push(tag, rsp).is_err() {
                    return self.stop_current(Cause::OwnFault);
                }
                v.active += 1;
                v.sources.push((msg.source, tag));
                self.check_honest_has_control(to);
            }
            Decision::Resume => {
                self.views[to].depth -= 1;
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

    pub(crate) fn fresh_rsp(&mut self) -> u64 {
        self.next_rsp += 0x10;
        self.next_rsp
    }

    /// The executing view's gate call (gate_call): OUT frame, then the switch.
    pub(crate) fn gate_call(&mut self, target: usize, export: u64) {
        let me = self.thread.current;
        if target >= self.views.len() {
            return; // NO_SUCH_EXPORT without switching; the caller keeps running
        }
        let rsp = self.fresh_rsp();
        let at = self.views[me].depth as u64;
        if self.views[me]
            .push(state::tag(state::OUT, target as u64, 0), rsp)
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
        let me = self.thread.current;
        let v = &mut self.views[me];
        let Some((source, tag)) = v.sources.pop() else {
            return self.stop_current(Cause::Corrupt);
        };
        if v.depth == 0 || v.tags[v.depth.min(MAX_FRAMES) - 1] != tag {
            return self.stop_current(Cause::Corrupt);
        }
        v.depth -= 1;
        v.active = v.active.wrapping_sub(1);
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
