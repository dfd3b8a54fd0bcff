//! What the compartments do: an honest step (call, return, exit, fault) and a malicious
//! one (anything through its own slot or gate).

use super::*;

impl Machine {
    pub(crate) fn honest_step(&mut self, rng: &mut Rng) {
        let me = self.thread().current;
        let in_activation = state::kind(self.fr(me).top()) == state::IN;
        let n = self.views.len();
        match rng.below(100) {
            0..=1 => self.stop_current(Cause::OwnFault),
            2..=44 => {
                let target = rng.below(n + 1);
                let export = rng.below(4) as u64;
                self.note(format!("{me} (honest) calls {target}.{export}"));
                self.gate_call(target, export);
            }
            _ if in_activation => {
                self.note(format!("{me} (honest) returns"));
                self.gate_return();
            }
            45..=60 if me == self.thread().main => {
                self.note(format!("{me} (honest main) exits"));
                self.thread_mut().over = true;
            }
            _ => {}
        }
    }

    pub(crate) fn malicious_step(&mut self, rng: &mut Rng) {
        let me = self.thread().current;
        let n = self.views.len();
        let ops = [op::CALL, op::RETURN, op::REFUSE, 0, 9];
        let op = ops[rng.below(ops.len())];
        let word = rng.below(5) as u64;
        match rng.below(11) {
            0 => self.honest_step(rng),
            1 => {
                let to = rng.below(n);
                self.note(format!(
                    "{me} (malicious) sends op {op} word {word} to {to}"
                ));
                let at = rng.below(6) as u64;
                self.land(
                    to,
                    Message {
                        source: me as u64,
                        op,
                        word,
                        at,
                    },
                );
            }
            2 => {
                let source = rng.below(n + 1) as u64;
                self.note(format!(
                    "{me} (malicious) jumps to pad {source} in its own view"
                ));
                let at = rng.below(6) as u64;
                self.land(
                    me,
                    Message {
                        source,
                        op,
                        word,
                        at,
                    },
                );
            }
            3 | 4 => {
                // Its state page on this vCPU: the only one mapped in this vCPU's root.
                let f = self.fr_mut(me);
                f.depth = rng.below(6);
                for t in f.tags.iter_mut().take(6) {
                    let (kind, peer, at) = (rng.below(4), rng.below(n + 1), rng.below(6));
                    *t = state::tag(kind as u64, peer as u64, at as u64);
                }
                f.active = rng.below(4) as u64;
                let tags = f.frames().to_vec();
                self.note(format!("{me} (malicious) rewrites its state: {tags:?}"));
            }
            5 => {
                self.note(format!("{me} (malicious) raises GATE_VIOLATION stray"));
                self.l1_settle();
            }
            6 => {
                self.note(format!("{me} (malicious) raises GATE_VIOLATION corrupt"));
                self.stop_current(Cause::Corrupt);
            }
            7 => {
                self.note(format!("{me} (malicious) faults"));
                self.stop_current(Cause::OwnFault);
            }
            8 if me == self.thread().main => {
                self.note(format!("{me} (malicious main) exits"));
                self.thread_mut().over = true;
            }
            _ => {
                let target = rng.below(n);
                self.note(format!("{me} (malicious) calls {target} properly"));
                self.gate_call(target, word);
            }
        }
    }
}
