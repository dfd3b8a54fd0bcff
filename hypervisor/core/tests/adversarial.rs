//! The isolation argument of docs/gates.md, attacked with random histories.
//!
//! A model machine runs views whose compartments are honest (they call, return, exit and
//! sometimes fault, through the gate) or malicious (they also send any message through
//! their own slot, jump into their own gate posing as any source, rewrite their own state
//! page, raise GATE_VIOLATION, fault). The gate is modelled exactly as the assembly
//! decides (`tessera_core::protocol::receive` plus the frame updates of each path), and
//! L1 exactly as the run loop uses core: the executing view is stopped when it faults,
//! and `tessera_core::contain::settle` decides whom to resume.
//!
//! Checked after every step, over many thousands of seeds:
//! - only the executing view is ever stopped, and an honest view only for its own fault;
//! - L1 touches an honest live view's frames only to pop its *top* frame: an OUT frame
//!   whose callee is stopped or malicious (and it resumes that view with the error the
//!   callee could have sent itself), or an activation whose caller is stopped or
//!   malicious and left it (it could never run again) — never anything an honest peer
//!   still stands by;
//! - an honest view's code only ever runs in a new activation or as the answer to its
//!   own pending call;
//! - a `main`'s run ends only by its own exit, its own fault, or its own misbehaviour.
//!
//! The machine has one thread of control (`Thread`); the SMP model extends it to several,
//! each with its own `main` and `current`, over the same views.

use tessera_abi::gate::{op, state, status};
use tessera_core::contain::{self, CallStacks, Resume};
use tessera_core::protocol::{self, Decision, Message};

const MAX_FRAMES: usize = state::MAX_FRAMES as usize;

/// xorshift64*: small, deterministic, good enough to explore histories.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

#[derive(Debug, Clone)]
struct View {
    honest: bool,
    callers: [u64; 8],
    exports: Vec<u64>,
    max_depth: u64,
    stopped: bool,
    depth: usize,
    active: u64,
    tags: Vec<u64>,
    rsps: Vec<u64>,
    /// The source and IN tag of each activation the gate entered (what it keeps on the
    /// stack across the export).
    sources: Vec<(u64, u64)>,
}

impl View {
    fn top(&self) -> u64 {
        match self.depth {
            0 => 0,
            d => self.tags[d.min(MAX_FRAMES) - 1],
        }
    }
    fn push(&mut self, tag: u64, rsp: u64) -> Result<(), ()> {
        // Past the end of the page the gate would fault in this view (its own doing).
        if self.depth >= MAX_FRAMES {
            return Err(());
        }
        self.tags[self.depth] = tag;
        self.rsps[self.depth] = rsp;
        self.depth += 1;
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Thread {
    main: usize,
    current: usize,
    over: bool,
}

/// Why a view was stopped, for the invariants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    /// Its own fault (any view may fault; for an honest view a deliberate bug).
    OwnFault,
    /// Its gate found its own state page corrupt.
    Corrupt,
}

struct Machine {
    views: Vec<View>,
    thread: Thread,
    history: Vec<String>,
    next_rsp: u64,
    /// Truncations L1 made in the current settle: (view, depth before, new length).
    truncations: Vec<(usize, usize, usize)>,
}

impl CallStacks for Machine {
    fn views(&self) -> usize {
        self.views.len()
    }
    fn depth(&self, view: usize) -> usize {
        self.views[view].depth.min(MAX_FRAMES)
    }
    fn tag(&self, view: usize, index: usize) -> u64 {
        self.views[view].tags[index]
    }
    fn rsp(&self, view: usize, index: usize) -> u64 {
        self.views[view].rsps[index]
    }
    fn stopped(&self, view: usize) -> bool {
        self.views[view].stopped
    }
    fn truncate(&mut self, view: usize, len: usize) {
        let v = &mut self.views[view];
        self.truncations.push((view, v.depth, len));
        v.depth = len;
        v.active = v.tags[..len]
            .iter()
            .filter(|t| state::kind(**t) == state::IN)
            .count() as u64;
    }
}

impl Machine {
    fn new(rng: &mut Rng) -> Machine {
        let n = 2 + rng.below(5);
        let views = (0..n)
            .map(|_| {
                let mut callers = [0u64; 8];
                for s in 0..n {
                    if rng.chance(70) {
                        callers[0] |= 1 << s;
                    }
                }
                let exports = (0..1 + rng.below(3))
                    .map(|i| if rng.chance(85) { 0x1000 + i as u64 } else { 0 })
                    .collect();
                View {
                    honest: rng.chance(60),
                    callers,
                    exports,
                    max_depth: 1 + rng.below(4) as u64,
                    stopped: false,
                    depth: 0,
                    active: 0,
                    tags: vec![0; MAX_FRAMES],
                    rsps: vec![0; MAX_FRAMES],
                    sources: Vec::new(),
                }
            })
            .collect();
        Machine {
            views,
            thread: Thread {
                main: 0,
                current: 0,
                over: false,
            },
            history: Vec::new(),
            next_rsp: 0x10,
            truncations: Vec::new(),
        }
    }

    fn fail(&self, what: &str) -> ! {
        let views: Vec<String> = self
            .views
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let frames: Vec<String> = v.tags[..v.depth.min(MAX_FRAMES)]
                    .iter()
                    .map(|t| match state::kind(*t) {
                        state::OUT => format!("OUT>{}", state::peer(*t)),
                        state::IN => format!("IN<{}", state::peer(*t)),
                        _ => format!("?{t}"),
                    })
                    .collect();
                format!(
                    "{i}: {}{} frames [{}] exports {:?} callers {:#b} max_depth {}",
                    if v.honest { "honest" } else { "malicious" },
                    if v.stopped { " STOPPED" } else { "" },
                    frames.join(" "),
                    v.exports,
                    v.callers[0],
                    v.max_depth
                )
            })
            .collect();
        panic!(
            "{what}\nviews:\n  {}\nthread: {:?}\nhistory:\n  {}",
            views.join("\n  "),
            self.thread,
            self.history.join("\n  ")
        )
    }

    fn note(&mut self, what: String) {
        self.history.push(what);
    }

    /// Runs the receiving gate of `to` on `msg` (gate_land), following refusals.
    fn land(&mut self, to: usize, msg: Message) {
        let v = &self.views[to];
        let reads = protocol::reads(
            &msg,
            v.stopped,
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

    fn fresh_rsp(&mut self) -> u64 {
        self.next_rsp += 0x10;
        self.next_rsp
    }

    /// The executing view's gate call (gate_call): OUT frame, then the switch.
    fn gate_call(&mut self, target: usize, export: u64) {
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
    fn gate_return(&mut self) {
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

    fn stop_current(&mut self, cause: Cause) {
        let me = self.thread.current;
        self.note(format!("  L1 stops {me} ({cause:?})"));
        if self.views[me].honest && cause != Cause::OwnFault {
            self.fail(&format!("honest view {me} stopped: {cause:?}"));
        }
        self.views[me].stopped = true;
        self.l1_settle();
    }

    fn l1_settle(&mut self) {
        let current = self.thread.current;
        let main = self.thread.main;
        self.truncations.clear();
        let before: Vec<View> = self.views.clone();
        let (resume, done) = contain::settle(self, main);
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
            let popped = before[v].tags[len];
            let peer = state::peer(popped) as usize;
            let ok = len + 1 == depth
                && peer < self.views.len()
                && guilty(peer)
                && match state::kind(popped) {
                    state::OUT => resumed == Some(v),
                    state::IN => true,
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
        match resume {
            Resume::Caller { view, .. } => {
                self.thread.current = view;
                self.check_honest_has_control(view);
            }
            Resume::MainOver => {
                let m = &self.views[main];
                if m.honest && !m.stopped {
                    self.fail("an honest main's run ended without its own doing");
                }
                self.thread.over = true;
            }
        }
    }

    /// An honest view may only run its code in an activation (top frame IN) or as the
    /// `main` at its base.
    fn check_honest_has_control(&self, view: usize) {
        let v = &self.views[view];
        if !v.honest || v.stopped {
            return;
        }
        let ok = state::kind(v.top()) == state::IN || (view == self.thread.main && v.depth == 0);
        if !ok {
            self.fail(&format!("honest view {view} runs without an activation"));
        }
    }

    fn honest_step(&mut self, rng: &mut Rng) {
        let me = self.thread.current;
        let v = &self.views[me];
        let in_activation = state::kind(v.top()) == state::IN;
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
            45..=60 if me == self.thread.main => {
                self.note(format!("{me} (honest main) exits"));
                self.thread.over = true;
            }
            _ => {}
        }
    }

    fn malicious_step(&mut self, rng: &mut Rng) {
        let me = self.thread.current;
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
                let v = &mut self.views[me];
                v.depth = rng.below(6);
                for t in v.tags.iter_mut().take(6) {
                    let (kind, peer, at) = (rng.below(4), rng.below(n + 1), rng.below(6));
                    *t = state::tag(kind as u64, peer as u64, at as u64);
                }
                v.active = rng.below(4) as u64;
                let tags = v.tags[..v.depth].to_vec();
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
            8 if me == self.thread.main => {
                self.note(format!("{me} (malicious main) exits"));
                self.thread.over = true;
            }
            _ => {
                let target = rng.below(n);
                self.note(format!("{me} (malicious) calls {target} properly"));
                self.gate_call(target, word);
            }
        }
    }

    fn start_main(&mut self, main: usize) {
        for v in &mut self.views {
            v.depth = 0;
            v.active = 0;
            v.sources.clear();
        }
        self.thread = Thread {
            main,
            current: main,
            over: false,
        };
        self.note(format!("main {main} starts"));
    }
}

fn run(seed: u64) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut m = Machine::new(&mut rng);
    for main in 0..m.views.len() {
        if m.views[main].stopped {
            continue;
        }
        m.start_main(main);
        for _ in 0..300 {
            if m.thread.over {
                break;
            }
            let me = m.thread.current;
            if m.views[me].stopped {
                m.fail("a stopped view is executing");
            }
            if m.views[me].honest {
                m.honest_step(&mut rng);
            } else {
                m.malicious_step(&mut rng);
            }
        }
    }
}

#[test]
fn random_adversarial_histories_never_harm_an_honest_compartment() {
    for seed in 0..40_000 {
        run(seed);
    }
}

#[test]
fn all_honest_histories_never_stop_or_abandon_anyone_but_the_faulty() {
    // The same machine with every view honest: faults are the only breaks, and each one
    // answers exactly the caller of the faulting activation.
    for seed in 0..5_000 {
        let mut rng = Rng(seed | 1);
        let mut m = Machine::new(&mut rng);
        for v in &mut m.views {
            v.honest = true;
        }
        m.start_main(0);
        for _ in 0..300 {
            if m.thread.over {
                break;
            }
            m.honest_step(&mut rng);
        }
    }
}
