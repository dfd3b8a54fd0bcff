//! Containment (DESIGN §6, properties 6 and 9; docs/gates.md "Faults and unwinding"):
//! after the thread of control broke — the executing compartment was stopped, or a gate
//! received a reply nobody waits for — whom L1 resumes, with which error.
//!
//! Who is *stopped* is never decided here: the run loop stops the view the CPU was
//! executing when that view's own instruction faulted, and nothing else. This module only
//! decides whom to *resume*, and it may use frames that compartments wrote for that —
//! each view writes only its own state page, so a frame can only mislead about its writer.
//!
//! The call chain is rebuilt from the state pages by [`walk`]. A link is positional: an
//! OUT frame at index `j` of view A, and an IN frame of view B whose tag names (A, `j`)
//! (the caller sends `j` with the call). A link needs both halves, each written by the
//! view it describes, so a compartment can cut the chain at itself but never graft
//! another compartment onto it or reorder another's frames. Where a link is cut (the
//! callee erased or rewrote its frames), the walk continues in the caller's *own* later
//! frames if it has any (it was re-entered through the callee: its own frames say so), so
//! the chain always ends at some view's top frame:
//! - `Dangling`: its top frame is a call nobody answers (the callee was stopped, or cut the
//!   link): L1 resumes it with `CALLEE_FAILED` — the reply the callee could have sent
//!   itself. Only ever its top frame: L1 never unwinds a view past its own nested calls.
//! - `Running`: its top frame is an activation. If that view is not the one whose code the
//!   thread is in, the activation can never run again (its caller stopped, or took the
//!   thread elsewhere): [`settle`] pops it, and the walk goes on to its caller.
//!
//! The argument that this never harms an honest compartment is in docs/gates.md; the host
//! test `tests/adversarial/` (one thread, and several in `smp.rs`) attacks it with random histories.

use alloc::vec;
use alloc::vec::Vec;
use tessera_abi::gate::{state, status};

/// Every view's call stack (its state page) and whether it is stopped, as L1 sees them.
pub trait CallStacks {
    /// Number of views.
    fn views(&self) -> usize;
    /// Frames on `view`'s stack, at most `state::MAX_FRAMES` (a larger DEPTH reads as that).
    fn depth(&self, view: usize) -> usize;
    /// The tag of frame `index` (< depth) of `view`.
    fn tag(&self, view: usize, index: usize) -> u64;
    /// The stack pointer saved with frame `index` of `view`.
    fn rsp(&self, view: usize, index: usize) -> u64;
    /// Whether L1 stopped `view`.
    fn stopped(&self, view: usize) -> bool;
    /// L1 pops frames: `view` keeps its first `len` frames (and ACTIVE counts the IN
    /// frames among them).
    fn truncate(&mut self, view: usize, len: usize);
}

/// One activation on the chain: a view running (or waiting in) one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Activation {
    pub view: usize,
    /// The index of its IN frame; `None` for the `main` that the chain starts from.
    pub entered_at: Option<usize>,
}

impl Activation {
    /// Index of the frame after its IN frame: where its own pending call would be.
    fn next(&self) -> usize {
        self.entered_at.map_or(0, |at| at + 1)
    }
}

/// How the chain ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The last activation waits for nothing (its frames end, or what follows is not a
    /// call): it is the one that should be running.
    Running,
    /// The last activation's view has, as its top frame `out_at`, a call to `callee` that
    /// no frame of the callee answers.
    Dangling { out_at: usize, callee: usize },
}

/// The call chain as the state pages show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walk {
    pub chain: Vec<Activation>,
    pub end: End,
}

/// The index of the IN frame of `callee` that answers frame `at` of `caller`.
fn answer(stacks: &impl CallStacks, caller: usize, at: usize, callee: usize) -> Option<usize> {
    let want = state::tag(state::IN, caller as u64, at as u64);
    (0..stacks.depth(callee)).find(|&k| stacks.tag(callee, k) == want)
}

/// Rebuilds the call chain of the thread whose `main` runs in view `main`.
pub fn walk(stacks: &impl CallStacks, main: usize) -> Walk {
    let views = stacks.views();
    let mut chain = vec![Activation {
        view: main,
        entered_at: None,
    }];
    // Every step moves to a frame no earlier step stood on, unless the pages contain a
    // cycle of fake links: the bound ends that with the chain as far as it got.
    for _ in 0..=views * state::MAX_FRAMES as usize {
        let Some(&top) = chain.last() else { break };
        let (view, at) = (top.view, top.next());
        if at >= stacks.depth(view) {
            break;
        }
        let tag = stacks.tag(view, at);
        let callee = usize::try_from(state::peer(tag)).unwrap_or(usize::MAX);
        if state::kind(tag) != state::OUT || callee >= views {
            break; // not a call: what lies above is the view's own business
        }
        if let Some(k) = answer(stacks, view, at, callee) {
            chain.push(Activation {
                view: callee,
                entered_at: Some(k),
            });
        } else if at + 1 < stacks.depth(view) {
            // The callee cut the link, but this view has later frames: it was re-entered
            // (through the callee) and its own frames go on.
            chain.push(Activation {
                view,
                entered_at: Some(at + 1),
            });
        } else {
            return Walk {
                chain,
                end: End::Dangling { out_at: at, callee },
            };
        }
    }
    Walk {
        chain,
        end: End::Running,
    }
}

/// Where the thread continues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// Resume `view` at the gate's return path with stack pointer `rsp`: its pending call
    /// returns `status` (and result 0).
    Caller { view: usize, rsp: u64, status: u64 },
    /// The `main` that started the chain is over (stopped, or its run broke at its base).
    MainOver,
}

/// What [`settle`] did besides choosing where to resume.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settled {
    /// Live views whose top activation was popped: it could never run again.
    pub abandoned: Vec<usize>,
    /// How many activations the chain has up to and including the resumed one.
    pub depth: usize,
}

/// Repairs the chain of the `main` running in view `main` after the thread broke; see
/// the module docs. A view stopped for its own fault must be marked stopped first.
pub fn settle(stacks: &mut impl CallStacks, main: usize) -> (Resume, Settled) {
    let mut done = Settled::default();
    loop {
        let Walk { chain, end } = walk(stacks, main);
        let top = *chain.last().unwrap_or(&Activation {
            view: main,
            entered_at: None,
        });
        match end {
            End::Dangling { out_at, .. } => {
                let waiter = top.view;
                let rsp = stacks.rsp(waiter, out_at);
                stacks.truncate(waiter, out_at);
                if !stacks.stopped(waiter) {
                    done.depth = chain.len();
                    let status = status::CALLEE_FAILED;
                    return (
                        Resume::Caller {
                            view: waiter,
                            rsp,
                            status,
                        },
                        done,
                    );
                }
                // A stopped waiter: its activation is on top now and goes next round.
            }
            End::Running => {
                let Some(at) = top.entered_at else {
                    return (Resume::MainOver, done);
                };
                if !stacks.stopped(top.view) {
                    done.abandoned.push(top.view);
                }
                stacks.truncate(top.view, at);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_abi::gate::state::{IN, OUT, tag};

    /// State pages as plain vectors of (tag, rsp).
    #[derive(Debug, Clone, Default)]
    struct Pages {
        frames: Vec<Vec<(u64, u64)>>,
        stopped: Vec<bool>,
    }

    impl Pages {
        fn new(frames: Vec<Vec<(u64, u64)>>) -> Self {
            let stopped = vec![false; frames.len()];
            Pages { frames, stopped }
        }
    }

    impl CallStacks for Pages {
        fn views(&self) -> usize {
            self.frames.len()
        }
        fn depth(&self, view: usize) -> usize {
            self.frames[view].len()
        }
        fn tag(&self, view: usize, index: usize) -> u64 {
            self.frames[view][index].0
        }
        fn rsp(&self, view: usize, index: usize) -> u64 {
            self.frames[view][index].1
        }
        fn stopped(&self, view: usize) -> bool {
            self.stopped[view]
        }
        fn truncate(&mut self, view: usize, len: usize) {
            self.frames[view].truncate(len);
        }
    }

    fn out(peer: u64, rsp: u64) -> (u64, u64) {
        (tag(OUT, peer, 0), rsp)
    }
    /// Called by `peer` from its frame `at`.
    fn inn(peer: u64, at: u64) -> (u64, u64) {
        (tag(IN, peer, at), 0)
    }
    fn caller(view: usize, rsp: u64) -> Resume {
        Resume::Caller {
            view,
            rsp,
            status: status::CALLEE_FAILED,
        }
    }

    #[test]
    fn walk_follows_re_entrant_chains_link_by_link() {
        // host(0) → plugin(1).work → host.cb → plugin.inner
        let pages = Pages::new(vec![
            vec![out(1, 0x100), inn(1, 1), out(1, 0x200)],
            vec![inn(0, 0), out(0, 0x300), inn(0, 2)],
        ]);
        let w = walk(&pages, 0);
        let views: Vec<usize> = w.chain.iter().map(|a| a.view).collect();
        assert_eq!(views, [0, 1, 0, 1]);
        assert_eq!(w.chain[3].entered_at, Some(2));
        assert_eq!(w.end, End::Running);
    }

    #[test]
    fn a_fault_at_depth_resumes_the_caller_of_the_faulting_activation() {
        // app(0) → lib(1) → plugin(2) faults: lib's call fails, app keeps waiting on lib.
        let mut pages = Pages::new(vec![
            vec![out(1, 0x10)],
            vec![inn(0, 0), out(2, 0x20)],
            vec![inn(1, 1)],
        ]);
        pages.stopped[2] = true;
        let (resume, done) = settle(&mut pages, 0);
        assert_eq!(resume, caller(1, 0x20));
        assert_eq!(done.depth, 2);
        assert!(done.abandoned.is_empty());
        assert_eq!(pages.frames[1], [inn(0, 0)]);
        assert_eq!(pages.frames[0], [out(1, 0x10)]);
    }

    #[test]
    fn a_return_into_a_stopped_re_entrant_callee_fails_only_the_outer_call() {
        // host(0) → plugin(1).work → host.cb → plugin.inner faults.
        let mut pages = Pages::new(vec![
            vec![out(1, 0x100), inn(1, 1), out(1, 0x200)],
            vec![inn(0, 0), out(0, 0x300), inn(0, 2)],
        ]);
        pages.stopped[1] = true;
        // host.cb gets CalleeFailed for its call to plugin.inner.
        assert_eq!(settle(&mut pages, 0).0, caller(0, 0x200));
        // host.cb returns to the (stopped) plugin: its gate pops IN←plugin, and the
        // plugin's stopped view finds the reply stray: host's call to plugin.work fails.
        pages.frames[0].truncate(1);
        let (resume, done) = settle(&mut pages, 0);
        assert_eq!(resume, caller(0, 0x100));
        assert!(done.abandoned.is_empty(), "{done:?}");
        assert!(pages.frames[0].is_empty());
    }

    #[test]
    fn a_broken_link_resumes_the_waiter_never_past_its_own_nested_calls() {
        // v(0) → w(1) → v.cb → x(2) → w → v.cb2 → w, and w erased its frames. The walk
        // goes on in v's own frames, reaches x, whose call to w nobody answers: x gets the
        // reply w could have sent it. v's frames are untouched: L1 never unwinds a view
        // past its own nested calls. (Whether x or v.cb2 is answered first, both wait on
        // w, which could have answered either.)
        let mut pages = Pages::new(vec![
            vec![
                out(1, 0x10),
                inn(1, 9),
                out(2, 0x20),
                inn(1, 9),
                out(1, 0x30),
            ],
            vec![],
            vec![inn(0, 2), out(1, 0x40)],
        ]);
        let w = walk(&pages, 0);
        assert_eq!(
            w.end,
            End::Dangling {
                out_at: 1,
                callee: 1
            }
        );
        let (resume, _) = settle(&mut pages, 0);
        assert_eq!(resume, caller(2, 0x40));
        assert_eq!(pages.frames[0].len(), 5);
        // Once x has returned (popping its frame), v.cb2's call to w is answered.
        pages.frames[2].clear();
        assert_eq!(settle(&mut pages, 0).0, caller(0, 0x30));
        assert_eq!(pages.frames[0].len(), 4);
    }

    #[test]
    fn an_activation_its_caller_abandoned_is_popped_then_the_waiter_below_resumed() {
        // app(0) → lib(1) → plugin(2) → lib.cb; then the plugin erased its frames and took
        // the thread elsewhere: lib.cb can never run again.
        let mut pages = Pages::new(vec![
            vec![out(1, 0x10)],
            vec![inn(0, 0), out(2, 0x20), inn(2, 1)],
            vec![],
        ]);
        let (resume, done) = settle(&mut pages, 0);
        assert_eq!(done.abandoned, [1]);
        assert_eq!(resume, caller(1, 0x20));
        assert_eq!(pages.frames[1], [inn(0, 0)]);
    }

    #[test]
    fn links_name_both_ends_so_frames_cannot_be_grafted() {
        // lib(1) claims to be called by app(0) from app's frame 3, which app never used.
        let pages = Pages::new(vec![vec![out(1, 0x10)], vec![inn(0, 3)]]);
        assert_eq!(
            walk(&pages, 0).end,
            End::Dangling {
                out_at: 0,
                callee: 1
            }
        );
    }

    #[test]
    fn the_main_itself_stopped_ends_its_run() {
        let mut pages = Pages::new(vec![vec![], vec![]]);
        pages.stopped[0] = true;
        assert_eq!(settle(&mut pages, 0).0, Resume::MainOver);
    }

    #[test]
    fn corrupted_pages_cannot_loop_or_reach_out_of_range() {
        let wild = (tag(OUT, 9999, 0), 0);
        let pages = Pages::new(vec![vec![wild; 3], vec![out(0, 0); 200]]);
        let w = walk(&pages, 0);
        assert_eq!(w.chain.len(), 1);
        assert_eq!(w.end, End::Running);
        // Two views answering each other's frames forever: the walk stops.
        let cycle = Pages::new(vec![vec![out(1, 1), inn(1, 0)], vec![inn(0, 0), out(0, 2)]]);
        let _ = walk(&cycle, 0);
        let mut cycle = cycle;
        cycle.stopped[1] = true;
        let _ = settle(&mut cycle, 0);
    }
}
