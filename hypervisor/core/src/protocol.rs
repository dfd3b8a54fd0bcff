//! The gate protocol as the *receiving* gate decides it (docs/gates.md): what happens to
//! a message that lands in a view, given that view's info and state pages.
//!
//! The gate itself is assembly (hypervisor/kernel/src/gate.rs). This is the same decision
//! written once in Rust, for the two places that must predict the gate exactly: L1 in
//! trapped switching (it sees every switch and keeps the watchdog's activation stack,
//! `crate::watchdog`), and the host model that attacks the protocol with random
//! histories (`tests/adversarial/` (one thread, and several in `smp.rs`)). Each branch names the assembly label it mirrors.

use tessera_abi::gate::{SLOT_SIZE, SLOTS, op, state, status};

/// Where view `view`'s own slot is: the only place its VMFUNC may execute (DESIGN §6
/// property 2).
#[inline]
pub fn own_slot(view: u64) -> u64 {
    SLOTS + SLOT_SIZE * view
}

/// The emulated path's rule (L1 sees every switch there): a VMFUNC at `rip` executed in
/// view `view` is emulated only at the view's own slot; anywhere else it is that view's
/// own fault, whatever bytes it got to execute. The conformance fixture (`fixture`) is the
/// one exemption: it executes VMFUNC from its own code on purpose. On the hardware path no
/// loadable image can reach this (images with the bytes are rejected at load).
#[inline]
pub fn emulated_switch_allowed(rip: u64, view: u64, fixture: bool) -> bool {
    fixture || rip == own_slot(view)
}

/// The emulated switch's decoding fast path: the length of the instruction at `rip` in
/// view `view` if it is the `VMFUNC` L1 wrote at the start of the view's own slot
/// (`crate::gate::slot_page`), so the #UD it raised needs no fetch and no decoder. Exact
/// because the slot page is L1's and no view maps it writable, and the emulated path
/// fetches at `rip` as a guest-physical address (the gate region is identity-mapped by
/// the guest page tables L1 builds), as the general decoder does; anything else is
/// `None` and goes through the general decoder.
#[inline]
pub fn own_slot_vmfunc(rip: u64, view: u64) -> Option<u64> {
    (rip == own_slot(view)).then_some(crate::scan::VMFUNC.len() as u64)
}

/// A message as the receiving gate reads it from registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message {
    /// R11: the sending view, set by the landing pad the CPU landed on.
    pub source: u64,
    /// R12: the operation ([`op`]).
    pub op: u64,
    /// RBX: the export index (CALL). A reply's status travels in RDX (the host model
    /// keeps it here); no decision depends on it.
    pub word: u64,
    /// R14 of a CALL: the index of the caller's OUT frame, which the callee records in
    /// its IN frame (`state::tag(IN, source, at)`).
    pub at: u64,
}

/// What the receiving gate reads from its view's info page (L1's) and state page (its own)
/// for one message: the words it reads, already selected by the message's source and
/// export index (so L1 reads no more than the gate does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receiver {
    /// The info page's FAILED word: 0 while the view runs, else the status its gate
    /// refuses calls with (`CALLEE_FAILED`, or `RESTARTING` while a restart is pending).
    pub failed: u64,
    /// The source's bit in the info page's caller bitmap.
    pub may_call: bool,
    /// The info page's address of the export the message names (`EXPORTS[word]` if
    /// `word < EXPORT_COUNT`, else 0; 0 = not registered).
    pub export: u64,
    /// The info page's DEPTH_LIMIT (2 × manifest `max_depth`).
    pub depth_limit: u64,
    /// The state page's DEPTH.
    pub depth: u64,
    /// The state page's top tag, `TAGS[DEPTH - 1]` (the sentinel 0 when DEPTH is 0).
    pub top: u64,
}

/// The receiving gate's inputs read on demand, one word at a time: what L1 implements
/// over the receiver's pages, so that deciding a message reads only the words the gate
/// reads for that message's op (a reply: FAILED and the top tag; a CALL: FAILED, the
/// caller bit, the export, DEPTH and DEPTH_LIMIT) — the emulated switch decides one at
/// every switch. Each method is one field of [`Receiver`], which implements the trait
/// over words already read.
pub trait ReceiverPages {
    /// [`Receiver::failed`]: 0 while the view runs, else the status its gate refuses
    /// calls with.
    fn failed(&self) -> u64;
    /// [`Receiver::may_call`] for the message's source.
    fn may_call(&self) -> bool;
    /// [`Receiver::export`] for the message's export index.
    fn export(&self) -> u64;
    /// [`Receiver::depth_limit`].
    fn depth_limit(&self) -> u64;
    /// [`Receiver::depth`].
    fn depth(&self) -> u64;
    /// [`Receiver::top`].
    fn top(&self) -> u64;
}

impl ReceiverPages for Receiver {
    fn failed(&self) -> u64 {
        self.failed
    }
    fn may_call(&self) -> bool {
        self.may_call
    }
    fn export(&self) -> u64 {
        self.export
    }
    fn depth_limit(&self) -> u64 {
        self.depth_limit
    }
    fn depth(&self) -> u64 {
        self.depth
    }
    fn top(&self) -> u64 {
        self.top
    }
}

/// What the receiving gate does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// `on_call`: the CALL is accepted; the export at this address runs in the receiver.
    Accept(u64),
    /// `on_reply`: a reply (any op but CALL) that answers the receiver's pending call to
    /// the source: that call completes and the receiver's code resumes.
    Resume,
    /// The receiver refuses: REFUSE with this status goes back to the source, and nothing
    /// of the receiver changes.
    Refuse(u64),
    /// `stray`: a refusal (or any message into a stopped view but a CALL) that no pending
    /// call waits for. Never answered: GATE_VIOLATION(stray) lets L1 decide whom to resume.
    Stray,
}

/// The receiving gate's decision (`gate_land` in hypervisor/kernel/src/gate.rs), reading
/// only what the message's op needs ([`ReceiverPages`]).
#[inline]
pub fn receive(msg: &Message, to: &impl ReceiverPages) -> Decision {
    let failed = to.failed();
    if failed != 0 {
        // `dead`: a stopped compartment answers calls with the status L1 put in its FAILED
        // word (CALLEE_FAILED, or RESTARTING) and runs nothing.
        return if msg.op == op::CALL {
            Decision::Refuse(failed)
        } else {
            Decision::Stray
        };
    }
    if msg.op == op::CALL {
        return on_call(to);
    }
    // Any other op is a reply (ABI 4: an unknown op answering the pending call is taken
    // like the RETURN its sender could send). A refusal is never refused.
    if to.top() == state::tag(state::OUT, msg.source, 0) {
        Decision::Resume
    } else if msg.op == op::REFUSE {
        Decision::Stray
    } else {
        Decision::Refuse(status::REFUSED)
    }
}

/// `on_call`: permission, export index (masked against speculation in the assembly),
/// registration, nesting depth — in that order, as the assembly checks them.
#[inline]
fn on_call(to: &impl ReceiverPages) -> Decision {
    if !to.may_call() {
        return Decision::Refuse(status::NOT_PERMITTED);
    }
    let export = to.export();
    if export == 0 {
        return Decision::Refuse(status::NO_SUCH_EXPORT);
    }
    // Frames [OUT of main] (IN OUT)* while the view waits or is idle: DEPTH < 2 × max_depth
    // is "fewer than max_depth activations open" (docs/gates.md, "Messages").
    if to.depth() >= to.depth_limit() {
        return Decision::Refuse(status::TOO_DEEP);
    }
    Decision::Accept(export)
}

/// What a receiving gate reads, from whole pages (the host model and tests): `callers`
/// is the caller bitmap, `exports` the export addresses (`EXPORT_COUNT` of them).
pub fn reads(
    msg: &Message,
    failed: u64,
    callers: &[u64; 8],
    exports: &[u64],
    (depth_limit, depth, top): (u64, u64, u64),
) -> Receiver {
    let bit = usize::try_from(msg.source / 64)
        .ok()
        .and_then(|w| callers.get(w))
        .is_some_and(|bits| bits & (1 << (msg.source % 64)) != 0);
    let export = usize::try_from(msg.word)
        .ok()
        .and_then(|i| exports.get(i))
        .copied()
        .unwrap_or(0);
    Receiver {
        failed,
        may_call: bit,
        export,
        depth_limit,
        depth,
        top,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_switches_only_from_its_own_slot() {
        assert!(emulated_switch_allowed(SLOTS + 16 * 5, 5, false));
        for rip in [
            SLOTS + 16 * 4,
            SLOTS + 16 * 5 + 3,
            SLOTS + 16 * 6,
            0x0100_2000,
            0,
        ] {
            assert!(!emulated_switch_allowed(rip, 5, false), "{rip:#x}");
            assert!(emulated_switch_allowed(rip, 5, true), "{rip:#x}");
        }
        assert_eq!(own_slot(511), SLOTS + 0x1FF0);
    }

    const ALL: [u64; 8] = [u64::MAX; 8];
    const NONE: [u64; 8] = [0; 8];

    /// The receiving gate's decision from pages: max_depth 16 (DEPTH_LIMIT 32), DEPTH 0.
    fn decide(msg: &Message, callers: &[u64; 8], exports: &[u64], top: u64) -> Decision {
        receive(msg, &reads(msg, 0, callers, exports, (32, 0, top)))
    }

    fn msg(source: u64, op: u64, word: u64) -> Message {
        Message {
            source,
            op,
            word,
            at: 0,
        }
    }

    #[test]
    fn calls_are_checked_in_the_gate_order() {
        let exports = [0x1000, 0];
        let call = |source, word| msg(source, op::CALL, word);
        assert_eq!(
            decide(&call(3, 0), &ALL, &exports, 0),
            Decision::Accept(0x1000)
        );
        // Declared but not registered yet: refused, never a call to address 0.
        for word in [1, 2, u64::MAX] {
            assert_eq!(
                decide(&call(3, word), &ALL, &exports, 0),
                Decision::Refuse(status::NO_SUCH_EXPORT)
            );
        }
        assert_eq!(
            decide(&call(3, 0), &NONE, &exports, 0),
            Decision::Refuse(status::NOT_PERMITTED)
        );
        let mut one = NONE;
        one[511 / 64] = 1 << (511 % 64);
        assert_eq!(
            decide(&call(511, 0), &one, &exports, 0),
            Decision::Accept(0x1000)
        );
        assert_eq!(
            decide(&call(510, 0), &one, &exports, 0),
            Decision::Refuse(status::NOT_PERMITTED)
        );
        // max_depth 16: a main (OUT first) with 15 activations open waits at DEPTH 31, a
        // view entered by calls at 30; one more is the 16th. With 16 open: refused.
        for depth in [0, 29, 30, 31, 32, 33, u64::MAX] {
            let pages = reads(&call(3, 0), 0, &ALL, &exports, (32, depth, 0));
            let want = [Decision::Accept(0x1000), Decision::Refuse(status::TOO_DEEP)];
            assert_eq!(receive(&call(3, 0), &pages), want[usize::from(depth >= 32)]);
        }
    }

    #[test]
    fn replies_resume_only_the_matching_pending_call() {
        let waiting = state::tag(state::OUT, 4, 0);
        assert_eq!(
            decide(&msg(4, op::RETURN, 0), &ALL, &[], waiting),
            Decision::Resume
        );
        assert_eq!(
            decide(&msg(4, op::REFUSE, 2), &ALL, &[], waiting),
            Decision::Resume
        );
        // From anyone else: a forged return is refused, a stray refusal is not answered.
        assert_eq!(
            decide(&msg(5, op::RETURN, 0), &ALL, &[], waiting),
            Decision::Refuse(status::REFUSED)
        );
        assert_eq!(
            decide(&msg(5, op::REFUSE, 0), &ALL, &[], waiting),
            Decision::Stray
        );
        // A view running an export (top IN) or idle (sentinel 0) waits for nobody.
        for top in [state::tag(state::IN, 4, 0), 0] {
            assert_eq!(
                decide(&msg(4, op::RETURN, 0), &ALL, &[], top),
                Decision::Refuse(status::REFUSED)
            );
            assert_eq!(
                decide(&msg(4, op::REFUSE, 0), &ALL, &[], top),
                Decision::Stray
            );
        }
        // Any other op is a reply: taken if it answers the pending call, else refused.
        for op in [0, 4, u64::MAX] {
            let d = [4, 5].map(|from| decide(&msg(from, op, 0), &ALL, &[], waiting));
            assert_eq!(d, [Decision::Resume, Decision::Refuse(status::REFUSED)]);
        }
    }

    #[test]
    fn a_stopped_view_refuses_calls_and_leaves_everything_else_to_l1() {
        let top = state::tag(state::OUT, 4, 0);
        for op in [op::CALL, op::RETURN, op::REFUSE, 9] {
            let m = msg(4, op, 0);
            for refusal in [status::CALLEE_FAILED, status::RESTARTING] {
                let dead = reads(&m, refusal, &ALL, &[0x1000], (32, 1, top));
                let want = if op == op::CALL {
                    Decision::Refuse(refusal)
                } else {
                    Decision::Stray
                };
                assert_eq!(receive(&m, &dead), want);
            }
        }
    }

    /// Pages that record which words were read.
    struct Counting(Receiver, core::cell::RefCell<alloc::vec::Vec<&'static str>>);

    impl ReceiverPages for Counting {
        fn failed(&self) -> u64 {
            self.1.borrow_mut().push("failed");
            self.0.failed
        }
        fn may_call(&self) -> bool {
            self.1.borrow_mut().push("may_call");
            self.0.may_call
        }
        fn export(&self) -> u64 {
            self.1.borrow_mut().push("export");
            self.0.export
        }
        fn depth_limit(&self) -> u64 {
            self.1.borrow_mut().push("depth_limit");
            self.0.depth_limit
        }
        fn depth(&self) -> u64 {
            self.1.borrow_mut().push("depth");
            self.0.depth
        }
        fn top(&self) -> u64 {
            self.1.borrow_mut().push("top");
            self.0.top
        }
    }

    #[test]
    fn a_message_reads_only_what_its_op_needs_and_decides_as_from_all_words() {
        let waiting = state::tag(state::OUT, 4, 0);
        let exports = [0x1000];
        for (op, read) in [
            (
                op::CALL,
                &["failed", "may_call", "export", "depth", "depth_limit"][..],
            ),
            (op::RETURN, &["failed", "top"][..]),
            (op::REFUSE, &["failed", "top"][..]),
            (7, &["failed", "top"][..]),
        ] {
            let m = msg(4, op, 0);
            let all = reads(&m, 0, &ALL, &exports, (32, 1, waiting));
            let pages = Counting(all, core::cell::RefCell::default());
            assert_eq!(receive(&m, &pages), receive(&m, &all));
            assert_eq!(pages.1.borrow().as_slice(), read, "op {op}");
        }
        // A refused call stops reading at the first check that fails.
        let m = msg(4, op::CALL, 0);
        let pages = Counting(
            reads(&m, 0, &NONE, &exports, (32, 0, 0)),
            core::cell::RefCell::default(),
        );
        assert_eq!(receive(&m, &pages), Decision::Refuse(status::NOT_PERMITTED));
        assert_eq!(pages.1.borrow().as_slice(), ["failed", "may_call"]);
    }
}
