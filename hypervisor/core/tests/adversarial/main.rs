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
//!   whose callee is stopped or malicious, or whose call reached (on this thread, since
//!   it was made) a view that is — what the callee called can lose the callee's reply
//!   (`lost_reply.rs`) — and it resumes that view with the error the callee could have
//!   sent itself; or an activation whose caller is stopped or malicious and left it (it
//!   could never run again) — never anything an honest peer still stands by;
//! - an honest view's code only ever runs in a new activation or as the answer to its
//!   own pending call;
//! - a `main`'s run ends only by its own exit, its own fault, or its own misbehaviour.
//!
//! The machine has one thread of control here; `smp.rs` runs several (one per vCPU),
//! each with its own `main`, `current` and call stack per view, over the same views.

mod gate;
mod l1;
mod lost_reply; // directed replays
mod server;
mod smp;
mod steps;

use tessera_abi::gate::{op, state, status};
use tessera_core::contain::{self, CallStacks, Resume};
use tessera_core::protocol::{self, Decision, Message};

const MAX_FRAMES: usize = state::MAX_FRAMES as usize;
/// The refusal a serial callee busy on another vCPU answers with (docs/gates.md
/// "Manifest: `concurrency` and `cpu`").
const BUSY: u64 = status::BUSY;

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

/// One view's call stack on one thread: its state page for that vCPU (docs/gates.md
/// "SMP": `STATE(V,k)` is mapped only in vCPU k's root of V).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Frames {
    depth: usize,
    /// Activations open on this thread: what L1's release of the serial OWNER word in
    /// settle tests for idleness, and `check_serial`. The gate reads DEPTH, not this
    /// (its nesting bound, and its serial claim: DEPTH < 2), since ABI 4 has no ACTIVE
    /// word in the state page.
    active: u64,
    tags: Vec<u64>,
    rsps: Vec<u64>,
    /// The source and IN tag of each activation the gate entered (what it keeps on the
    /// stack across the export), and whether it claimed OWNER (its continuation).
    sources: Vec<(u64, u64, bool)>,
    /// For each frame, how long the thread's [`Machine::trail`] was when it was pushed.
    pushed: Vec<usize>,
    /// For each IN frame, the number the SDK's `typed::serve` gave its activation
    /// (`server.rs`).
    numbers: Vec<u64>,
}

impl Frames {
    fn new() -> Frames {
        Frames {
            depth: 0,
            active: 0,
            tags: vec![0; MAX_FRAMES],
            rsps: vec![0; MAX_FRAMES],
            sources: Vec::new(),
            pushed: vec![0; MAX_FRAMES],
            numbers: vec![0; MAX_FRAMES],
        }
    }
    fn top(&self) -> u64 {
        match self.depth {
            0 => 0,
            d => self.tags[d.min(MAX_FRAMES) - 1],
        }
    }
    fn push(&mut self, tag: u64, rsp: u64, trail: usize) -> Result<(), ()> {
        // Past the end of the page the gate would fault in this view (its own doing).
        if self.depth >= MAX_FRAMES {
            return Err(());
        }
        self.tags[self.depth] = tag;
        self.rsps[self.depth] = rsp;
        self.pushed[self.depth] = trail;
        self.depth += 1;
        Ok(())
    }
    fn frames(&self) -> &[u64] {
        &self.tags[..self.depth.min(MAX_FRAMES)]
    }
}

/// A compartment: what every thread shares (its manifest entry, whether L1 stopped it)
/// and one call stack per thread.
#[derive(Debug, Clone)]
struct View {
    honest: bool,
    callers: [u64; 8],
    exports: Vec<u64>,
    max_depth: u64,
    stopped: bool,
    per_thread: Vec<Frames>,
    /// Manifest `concurrency = "serial"` (`smp.rs`; false in the one-thread model).
    serial: bool,
    /// A serial view's OWNER word (docs/gates.md "SMP"): the thread that has it on its
    /// call chain. Shared by all threads; only the view's own gate (and L1) writes it.
    owner: Option<usize>,
    /// Its `serve!` server (`server.rs`), one thread only.
    server: server::Server,
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
    /// One per vCPU; the model has one thread unless a test adds more.
    threads: Vec<Thread>,
    /// The thread taking the current step: every gate and L1 action below acts on it.
    cur: usize,
    /// Per thread, every view it entered since its `main` started, in order: a call's
    /// callee and whatever that called are the views entered since its OUT frame.
    trail: Vec<Vec<usize>>,
    history: Vec<String>,
    next_rsp: u64,
    /// Truncations L1 made in the current settle: (view, depth before, new length).
    truncations: Vec<(usize, usize, usize)>,
    /// L1 is settling: it may write any view's frames on the current thread.
    in_l1: bool,
    /// Whether stopping a view sends the STOP IPI to the other threads (`smp.rs`).
    barrier: bool,
    /// A broken serial rule (`smp.rs`): an activation that found OWNER already its
    /// thread's releases it too.
    release_unclaimed: bool,
    /// The last activation number `typed::serve` gave (`server.rs`), and what it was
    /// when the running `main` started.
    last_number: u64,
    main_started: u64,
}

/// `contain` sees the state pages of the thread L1 settles, and only those: settling
/// vCPU k reads `STATE(·,k)`.
impl CallStacks for Machine {
    fn views(&self) -> usize {
        self.views.len()
    }
    fn depth(&self, view: usize) -> usize {
        self.fr(view).depth.min(MAX_FRAMES)
    }
    fn tag(&self, view: usize, index: usize) -> u64 {
        self.fr(view).tags[index]
    }
    fn rsp(&self, view: usize, index: usize) -> u64 {
        self.fr(view).rsps[index]
    }
    fn stopped(&self, view: usize) -> bool {
        self.views[view].stopped
    }
    fn truncate(&mut self, view: usize, len: usize) {
        let depth = self.fr(view).depth;
        self.truncations.push((view, depth, len));
        let f = self.fr_mut(view);
        f.depth = len;
        f.active = f.tags[..len]
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
                    per_thread: vec![Frames::new()],
                    serial: false,
                    owner: None,
                    server: server::Server::default(),
                }
            })
            .collect();
        Machine {
            views,
            threads: vec![Thread {
                main: 0,
                current: 0,
                over: false,
            }],
            cur: 0,
            trail: vec![Vec::new()],
            history: Vec::new(),
            next_rsp: 0x10,
            truncations: Vec::new(),
            in_l1: false,
            barrier: true,
            release_unclaimed: false,
            last_number: 0,
            main_started: 0,
        }
    }

    /// `view`'s frames on the current thread.
    fn fr(&self, view: usize) -> &Frames {
        &self.views[view].per_thread[self.cur]
    }
    /// Writing `view`'s frames on the current thread: only that view, executing on
    /// this thread (its gate or its own code), or L1 can (`STATE(V,k)` is mapped in
    /// vCPU k's root of V alone).
    fn fr_mut(&mut self, view: usize) -> &mut Frames {
        if !self.in_l1 && view != self.thread().current {
            self.fail(&format!(
                "view {view}'s state page written while {} executes",
                self.thread().current
            ));
        }
        &mut self.views[view].per_thread[self.cur]
    }
    fn thread(&self) -> Thread {
        self.threads[self.cur]
    }
    fn thread_mut(&mut self) -> &mut Thread {
        &mut self.threads[self.cur]
    }
    /// The current thread goes on in `view`.
    fn enter(&mut self, view: usize) {
        self.thread_mut().current = view;
        self.trail[self.cur].push(view);
    }

    fn fail(&self, what: &str) -> ! {
        let views: Vec<String> = self
            .views
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let frames: Vec<String> = v
                    .per_thread
                    .iter()
                    .map(|f| {
                        let tags: Vec<String> = f
                            .frames()
                            .iter()
                            .map(|t| match state::kind(*t) {
                                state::OUT => format!("OUT>{}", state::peer(*t)),
                                state::IN => format!("IN<{}", state::peer(*t)),
                                _ => format!("?{t}"),
                            })
                            .collect();
                        tags.join(" ")
                    })
                    .collect();
                format!(
                    "{i}: {}{}{} frames per thread [{}] exports {:?} callers {:#b} max_depth {}",
                    if v.honest { "honest" } else { "malicious" },
                    if v.stopped { " STOPPED" } else { "" },
                    if v.serial {
                        format!(" serial owner {:?}", v.owner)
                    } else {
                        String::new()
                    },
                    frames.join(" | "),
                    v.exports,
                    v.callers[0],
                    v.max_depth
                )
            })
            .collect();
        panic!(
            "{what}\nviews:\n  {}\nthreads: {:?} (stepping {})\nhistory:\n  {}",
            views.join("\n  "),
            self.threads,
            self.cur,
            self.history.join("\n  ")
        )
    }

    fn note(&mut self, what: String) {
        self.history.push(what);
    }

    /// Starts `main` on the current thread, on fresh state pages of that thread.
    fn start_main(&mut self, main: usize) {
        let cur = self.cur;
        for v in &mut self.views {
            v.per_thread[cur] = Frames::new();
        }
        *self.thread_mut() = Thread {
            main,
            current: main,
            over: false,
        };
        self.trail[cur] = vec![main];
        self.main_started = self.last_number;
        self.note(format!("[t{cur}] main {main} starts"));
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
            if m.thread().over {
                break;
            }
            let me = m.thread().current;
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
            if m.thread().over {
                break;
            }
            m.honest_step(&mut rng);
        }
    }
}
