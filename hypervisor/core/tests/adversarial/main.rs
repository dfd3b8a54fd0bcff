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

mod gate;
mod l1;
mod steps;

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
