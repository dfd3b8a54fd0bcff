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
//! another compartment onto it or reorder another's frames. An answer the walk already
//! stood on is fake (a real chain stands on each IN frame once) and counts as cut, so
//! forged frames cannot make it loop. Where a link is cut (the callee erased or rewrote
//! its frames), the walk continues in the caller's *own* later frames if it has any (it
//! was re-entered through the callee: its own frames say so), so the chain always ends
//! at some view's top frame:
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
    /// L1 pops frames: `view` keeps its first `len` frames.
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

/// The index of the IN frame of `callee` that answers frame `at` of `caller`, among the
/// frames the walk has not stood on (`seen`, one flag per view and frame).
fn answer(
    stacks: &impl CallStacks,
    seen: &[bool],
    (caller, at): (usize, usize),
    callee: usize,
) -> Option<usize> {
    let want = state::tag(state::IN, caller as u64, at as u64);
    let max = state::MAX_FRAMES as usize;
    (0..stacks.depth(callee))
        .find(|&k| stacks.tag(callee, k) == want && !seen[callee * max + k.min(max - 1)])
}

/// Rebuilds the call chain of the thread whose `main` runs in view `main`.
pub fn walk(stacks: &impl CallStacks, main: usize) -> Walk {
    let views = stacks.views();
    let max = state::MAX_FRAMES as usize;
    let mut chain = vec![Activation {
        view: main,
        entered_at: None,
    }];
    // A real chain stands on each IN frame once. A link to a frame the walk already
    // stood on is fake (a forged second answer would make a cycle, and the walk would
    // end anywhere on it, popping an honest view's frames past its own nested calls):
    // it counts as cut. So every step moves to a new frame; the bound is a backstop.
    let mut seen = vec![false; views * max];
    for _ in 0..=views * max {
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
        if let Some(k) = answer(stacks, &seen, (view, at), callee) {
            seen[callee * max + k.min(max - 1)] = true;
            chain.push(Activation {
                view: callee,
                entered_at: Some(k),
            });
        } else if at + 1 < stacks.depth(view) {
            seen[view * max + (at + 1).min(max - 1)] = true;
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
mod tests;
