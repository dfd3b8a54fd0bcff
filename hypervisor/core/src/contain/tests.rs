//! `walk` and `settle` on hand-written state pages.

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
fn a_forged_second_answer_cannot_make_a_cycle_that_unwinds_an_honest_view() {
    // v(3) → m(2) → v.cb → m, and m wrote a second IN←(v, 2) below its real one
    // and cut its link to v's first call. The walk must not follow the forged frame
    // round the cycle v.cb → m → v.cb: v's frames are v's business; m is resumed.
    let garbage = (tag(3, 0, 2), 0);
    let mut pages = Pages::new(vec![
        vec![],
        vec![],
        vec![
            garbage,
            inn(1, 2),
            garbage,
            inn(3, 2),
            out(3, 0x20),
            inn(3, 2),
        ],
        vec![out(2, 0x10), inn(2, 4), out(2, 0x30)],
    ]);
    let (resume, done) = settle(&mut pages, 3);
    assert_eq!(resume, caller(2, 0x20));
    assert_eq!(done.abandoned, [2]);
    assert_eq!(pages.frames[3].len(), 3);
    assert_eq!(pages.frames[2].len(), 4);
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
