//! The ABI shared by the Tessera hypervisor, the compartments it runs and the host tooling.
//!
//! Versioned: a change that breaks an existing meaning bumps [`ABI_VERSION`].
#![no_std]
#![forbid(unsafe_code)]
// Issue 13's size rule: no function over 80 lines (the threshold is in clippy.toml).
#![deny(clippy::too_many_lines)]

// So the hypercall table's doc links, written `tessera_abi::...`, resolve both here and in
// the crates that generate code from the table.
extern crate self as tessera_abi;

/// Version of this ABI. Hypervisor and compartments must agree on it: every image the SDK
/// builds carries it in its ABI-version note ([`image`]), and the hypervisor refuses an
/// image that names another version or none.
pub const ABI_VERSION: u32 = 4;

/// The machine-readable transcript the hypervisor writes on COM1.
///
/// Every machine-readable line starts with `@@` and a word, then `key=value` pairs
/// (values contain no spaces) — or JSON after `@@BENCH`. Free-form log lines never start
/// with `@@`.
pub mod transcript {
    /// Prefix of every machine-readable line.
    pub const PREFIX: &str = "@@";
    /// `@@CAP name=value`: one line per capability.
    pub const CAP: &str = "@@CAP";
    /// `@@RAW cpuid ...` / `@@RAW msr ...`: the raw capability dump the `@@CAP` lines
    /// were decoded from (recorded as fixtures for the host tests).
    pub const RAW: &str = "@@RAW";
    /// `@@BOOT key=value ...`: facts about this boot (command line, memory).
    pub const BOOT: &str = "@@BOOT";
    /// `@@CPU index=K apic=ID state=online|timeout`: one line per CPU the kernel brought
    /// up (K = boot order, 0 = the boot CPU; ID = its local APIC ID).
    pub const CPU: &str = "@@CPU";
    /// `@@RESULT pass` or `@@RESULT fail reason=...`: the last line of every boot.
    pub const RESULT: &str = "@@RESULT";
    /// `@@TRUNCATED compartment=NAME`: the compartment's console budget is spent; L1
    /// prints nothing more for it.
    pub const TRUNCATED: &str = "@@TRUNCATED";
    /// `@@APP compartment=NAME key=value ...`: a compartment's own line
    /// ([`crate::hypercall::APP_REPORT`]); `compartment` is L1's, every other key and
    /// every value the compartment's.
    pub const APP: &str = "@@APP";
    /// Keys that name who did something: only L1 writes them, from what it knows (the
    /// view that exited, the running CPU), never from what a compartment says. A
    /// [`crate::hypercall::REPORT`] that uses one, as a key or (for `BENCH`) as a JSON
    /// member name at any depth, is refused with [`crate::error::IDENTITY_KEY`], and so
    /// is an [`crate::hypercall::APP_REPORT`] pair that uses one as its key. On a
    /// reported line (`@@ROUNDTRIPS`, `@@CALL`, `@@BENCH`, `@@APP`), `compartment` is the
    /// reporter and everything else is that compartment's claim: `@@CALL
    /// compartment=A target=B export=E result=ok|error:KIND` is what A says about its
    /// call to B.
    pub const IDENTITY_KEYS: &[&str] = &["compartment", "caller", "callee", "cpu"];
}

/// Exit conventions the kernel uses to end an emulator.
pub mod exit {
    /// QEMU `isa-debug-exit` I/O port (configured by the runner with `iobase=0xf4`).
    /// Writing `v` makes QEMU exit with status `(v << 1) | 1`.
    pub const QEMU_DEBUG_EXIT_PORT: u16 = 0xf4;
    /// Value written to the debug-exit port on pass (QEMU exits with 1).
    pub const QEMU_EXIT_PASS: u8 = 0;
    /// Value written to the debug-exit port on failure (QEMU exits with 3).
    pub const QEMU_EXIT_FAIL: u8 = 1;
    /// Bochs' shutdown port: writing the bytes of `"Shutdown"` ends the simulation.
    pub const BOCHS_SHUTDOWN_PORT: u16 = 0x8900;
}

pub mod hypercall;
pub mod image;

/// Negative hypercall results.
pub mod error {
    /// RAX named no hypercall this hypervisor knows (checked before the manifest).
    pub const UNKNOWN_HYPERCALL: i64 = -1;
    /// A pointer argument is not readable (or writable) by the caller for its whole
    /// length: some byte has no guest-virtual mapping, or the caller's view does not
    /// allow the access; or a code address is not the caller's executable code.
    pub const BAD_POINTER: i64 = -2;
    /// A length argument is too large (checked before the pointer is read).
    pub const TOO_LARGE: i64 = -3;
    /// The caller's manifest entry does not allow this hypercall (fixture-only
    /// hypercalls outside their fixture included), or, for LOOKUP, does not let it call
    /// that compartment.
    pub const NOT_PERMITTED: i64 = -4;
    /// No such compartment or export.
    pub const NO_SUCH_EXPORT: i64 = -5;
    /// No such grant for this view.
    pub const NO_SUCH_GRANT: i64 = -6;
    /// The call is not allowed now (e.g. REGISTER_EXPORT after `main` returned).
    pub const BAD_STATE: i64 = -7;
    /// The caller's console budget (manifest `console=`, default 64 KiB) is spent: what
    /// this CONSOLE_WRITE, REPORT or APP_REPORT sent was (at least in part) dropped, and
    /// L1 printed `@@TRUNCATED compartment=NAME`. Every later CONSOLE_WRITE, REPORT and
    /// APP_REPORT of this compartment returns it too; the compartment keeps running.
    pub const OVER_BUDGET: i64 = -8;
    /// A REPORT line or an APP_REPORT buffer is not in the format
    /// [`crate::hypercall::REPORT`] or [`crate::hypercall::APP_REPORT`] documents.
    pub const BAD_REPORT: i64 = -9;
    /// A REPORT line or an APP_REPORT pair names a key only the hypervisor writes
    /// ([`crate::transcript::IDENTITY_KEYS`]).
    pub const IDENTITY_KEY: i64 = -10;
    /// A REPORT line's word is not one of [`crate::hypercall::REPORT_WORDS`]. A
    /// compartment's lines of its own are `@@APP` ([`crate::hypercall::APP_REPORT`]).
    pub const NO_SUCH_WORD: i64 = -11;
}

/// The gate: the only code executable in more than one view (docs/gates.md).
///
/// Guest-physical layout, identical in every view (the *contents* of the slot pages and
/// of the info and state pages differ per view):
///
/// | GPA | what | in view X |
/// |---|---|---|
/// | [`SLOTS`] | 512 slots of [`SLOT_SIZE`] bytes (2 pages) | R-X, X's own copy |
/// | [`CODE`] | the common gate code | R-X, shared |
/// | [`INFO`] | X's info page | R--, X's own |
/// | [`STATE`] | X's state page | RW-, X's own |
/// | [`CHANNELS`] | X's channel page: where its call buffers are ([`channels`]) | R--, X's own |
/// | [`LOCAL`] | X's CPU-local page: the SDK's per-vCPU storage | RW-, X's own per vCPU |
/// | [`SHARED`] | X's shared page ([`shared`]): one for all of X's vCPUs | RW-, X's own |
///
/// With several vCPUs each vCPU has its own EPTP list, and view X's root on vCPU k maps
/// the same frames as its root on vCPU j except the **per-vCPU pages**: [`INFO`] (whose
/// [`info::CPU`] says which vCPU), [`STATE`], X's stack, [`LOCAL`] and X's call buffers
/// (docs/gates.md "Per-vCPU views"). The addresses are the same on every vCPU.
///
/// A switch carries one message in registers: R11 = the source view (set by the landing
/// pad the CPU lands on, so it cannot be forged), R12 = the [`op`], RBX = the export index
/// (CALL), RDX = a [`status`] (RETURN, REFUSE), R13 = the result (RETURN), and for a CALL
/// the six arguments in RDI, RSI, RDX, R10, R8, R9. The receiving gate zeroes every other
/// register before any code of the receiver runs. A CALL also carries, in R14, the
/// index of the caller's OUT frame, which the callee records in its IN frame.
pub mod gate {
    /// First slot page.
    pub const SLOTS: u64 = 0x0020_0000;
    /// Bytes per slot: `VMFUNC` (or `int3`s) + landing pad.
    pub const SLOT_SIZE: u64 = 16;
    /// Number of slots (= the EPTP list size).
    pub const SLOT_COUNT: u64 = 512;
    /// The common gate code (two pages at most).
    pub const CODE: u64 = SLOTS + SLOT_SIZE * SLOT_COUNT;
    /// Bytes reserved for the common gate code.
    pub const CODE_SIZE: u64 = 0x2000;
    /// The calling view's info page (read-only).
    pub const INFO: u64 = CODE + CODE_SIZE;
    /// The calling view's state page (read-write).
    pub const STATE: u64 = INFO + 0x1000;
    /// The calling view's channel page (read-only): the call buffers it shares with
    /// each peer ([`channels`]).
    pub const CHANNELS: u64 = STATE + 0x1000;
    /// The calling view's CPU-local page (read-write, never executable): a frame of its
    /// own for each (view, vCPU), zero at load and after a restart; the SDK's per-vCPU
    /// storage (`tessera_sdk::cpu_local!`). Neither L1 nor the gate reads it.
    pub const LOCAL: u64 = CHANNELS + 0x1000;
    /// The calling view's shared page (read-write, never executable): one frame for all
    /// of the view's roots on every vCPU ([`shared`]).
    pub const SHARED: u64 = LOCAL + 0x1000;
    /// First guest-physical address after the gate region.
    pub const END: u64 = SHARED + 0x1000;

    /// Entry points inside [`CODE`] (offsets) that compartments `call`.
    pub mod entry {
        /// `call [CODE + CALL]`: make a gate call. In: R11 = target view, RAX = export
        /// index, RDI, RSI, RDX, R10, R8, R9 = arguments. Out: RAX = result, RDX = status
        /// ([`super::status`]), RFLAGS = 0x202. Preserves RBX, RBP, R15 and RSP; since
        /// ABI 3 R12–R14 are not preserved (R12 holds the reply's op, R13 the result, R14
        /// is zeroed; the caller's compiler saves them only where they are live), and R11
        /// holds the callee's view; every other register is zeroed.
        pub const CALL: u64 = 0;
    }

    /// Status of a gate call (RDX after the call). [`status::TABLE`] lists them all.
    pub mod status {
        pub const OK: u64 = 0;
        /// The callee faulted during the call or had been stopped before, or the call
        /// ended with it (a callee further down the chain broke the protocol).
        pub const CALLEE_FAILED: u64 = 1;
        /// The callee has no export with that index, or has not registered it yet.
        pub const NO_SUCH_EXPORT: u64 = 2;
        /// The manifest does not let the caller call the callee.
        pub const NOT_PERMITTED: u64 = 3;
        /// The callee already runs its maximum number of nested activations
        /// (manifest `max_depth`), or the caller's own call stack is full.
        pub const TOO_DEEP: u64 = 4;
        /// The peer's gate refused the message as invalid (e.g. a return it was not
        /// waiting for): a protocol error by whoever sent it.
        pub const REFUSED: u64 = 5;
        /// The callee faulted and L1 restarts it from its pristine image (manifest
        /// `restart = "on-fault"`), but cannot yet: a call chain still passes through it.
        /// Try again once the call that was running in it has been answered.
        pub const RESTARTING: u64 = 6;
        /// The callee is serial (manifest `concurrency = "serial"`) and has an activation,
        /// or its running `main`, on another vCPU: its gate refused the call and changed
        /// nothing. Retry later.
        pub const BUSY: u64 = 7;

        /// Every status: (value, name, meaning). One table for the SDK, docs and tools.
        pub const TABLE: &[(u64, &str, &str)] = &[
            (OK, "ok", "the export ran and returned"),
            (
                CALLEE_FAILED,
                "callee-failed",
                "the callee (or a callee it called) failed",
            ),
            (
                NO_SUCH_EXPORT,
                "no-such-export",
                "no such export, or not registered yet",
            ),
            (
                NOT_PERMITTED,
                "not-permitted",
                "the manifest does not allow this call",
            ),
            (
                TOO_DEEP,
                "too-deep",
                "too many nested activations of the callee",
            ),
            (
                REFUSED,
                "refused",
                "the peer's gate refused an invalid message",
            ),
            (
                RESTARTING,
                "restarting",
                "the callee faulted and is waiting to be restarted",
            ),
            (
                BUSY,
                "busy",
                "the callee is serial and busy on another vCPU",
            ),
        ];
    }

    /// Operation codes carried in R12 across a switch.
    pub mod op {
        /// Call export RBX of the target with the six argument registers.
        pub const CALL: u64 = 1;
        /// Reply to the target's pending call: result R13, status RDX. (Since ABI 4 the
        /// receiving gate takes any op but CALL as a reply: one that answers its pending
        /// call completes it, whatever the op; one that does not is refused, unless it
        /// is a REFUSE.)
        pub const RETURN: u64 = 2;
        /// Reply refusing the target's message: status RDX. A refusal is never refused:
        /// one that matches no pending call ends in GATE_VIOLATION (stray), not a reply.
        pub const REFUSE: u64 = 3;
    }

    /// Reasons in a GATE_VIOLATION hypercall (RSI). It names no culprit: the hypervisor
    /// never stops a compartment on another's word (docs/gates.md).
    pub mod violation {
        /// A reply arrived that this view was not waiting for.
        pub const STRAY: u64 = 1;
        /// This view's own state page is inconsistent (only it can write it).
        pub const CORRUPT_STATE: u64 = 2;
    }

    /// Info page layout (offsets), written by the hypervisor, read-only to the view.
    pub mod info {
        /// u64: [`MAGIC`].
        pub const MAGIC_OFFSET: u64 = 0;
        /// u64: this view's index in the EPTP list (= its slot).
        pub const VIEW: u64 = 8;
        /// u64: stack top for calls arriving while the view is idle.
        pub const STACK_TOP: u64 = 16;
        /// u64: 0 while the compartment runs; once the hypervisor stopped it, the
        /// [`status`](super::status) its gate refuses calls with: `CALLEE_FAILED` for good,
        /// `RESTARTING` until a pending restart is done.
        pub const FAILED: u64 = 24;
        /// u64: number of exports.
        pub const EXPORT_COUNT: u64 = 32;
        /// u64: number of views (valid targets are below it).
        pub const VIEWS: u64 = 40;
        /// u64: the address of this view's own slot (`SLOTS + SLOT_SIZE * VIEW`).
        pub const SLOT_ADDR: u64 = 48;
        /// u64: 2 × the most nested activations of this view (manifest `max_depth`): a
        /// call is accepted only while the state page's DEPTH is below it. (Until ABI 3
        /// this word was `max_depth` itself, compared with a count of the IN frames.)
        /// A view that receives a call waits in each of its activations, so its frames
        /// are \[OUT of its `main`\] (IN OUT)*: DEPTH < 2 × `max_depth` exactly when fewer
        /// than `max_depth` activations are open.
        pub const DEPTH_LIMIT: u64 = 56;
        /// 512 bits: bit S set = view S may call this view.
        pub const CALLERS: u64 = 64;
        /// u64 × EXPORT_COUNT: export addresses; 0 = not registered yet.
        pub const EXPORTS: u64 = 128;
        /// Most exports a view can have (the export table ends where the words at the end
        /// of the page begin, the lowest of which is [`CLAIM_BELOW`]).
        pub const MAX_EXPORTS: u64 = (CLAIM_BELOW - EXPORTS) / 8;
        /// u64, the gate's form of [`CONCURRENCY`]: its gate claims the shared page's
        /// [`OWNER`](super::shared::OWNER) for a call accepted while the state page's
        /// DEPTH is below this word, i.e. while the view has no activation on this vCPU
        /// (DEPTH 0, or 1: its `main` waiting in a call). 2 for a serial view, 0 for a
        /// parallel one (never), so the gate tests both with one compare. L1 writes it
        /// with [`CONCURRENCY`]; 0 from a hypervisor older than the word.
        pub const CLAIM_BELOW: u64 = MAIN - 8;
        /// u64: 1 in the copy of vCPU K if this view has a `main` and its manifest places
        /// it on vCPU K (`cpu = K`, or `all`), else 0. L1 writes it at load and when that
        /// `main` starts there, and stores 0 once the `main` is over on vCPU K (from then
        /// on a call into the view releases its ownership on return, as any other). 0
        /// from a hypervisor older than the word.
        pub const MAIN: u64 = CONCURRENCY - 8;
        /// u64: the manifest's `concurrency`, [`SERIAL`] (the default) or [`PARALLEL`].
        /// The gate reads [`CLAIM_BELOW`], its own form of the same fact. 0 (serial) from
        /// a hypervisor older than the word.
        pub const CONCURRENCY: u64 = CPUS - 8;
        /// [`CONCURRENCY`]: its code never runs on two vCPUs at once (calls from another
        /// vCPU while it has one there are refused with [`BUSY`](super::status::BUSY)).
        pub const SERIAL: u64 = 0;
        /// [`CONCURRENCY`]: its exports may run on several vCPUs at once.
        pub const PARALLEL: u64 = 1;
        /// u64: the number of vCPUs (each with its own EPTP list); 0 from a hypervisor
        /// older than the word (one vCPU).
        pub const CPUS: u64 = CPU - 8;
        /// u64: the vCPU this copy of the info page belongs to (0-based, below [`CPUS`]):
        /// each (view, vCPU) has its own info page at the same address, so this word is
        /// the vCPU the code reading it runs on.
        pub const CPU: u64 = DATA - 8;
        /// u64: guest-physical address of the view's data directory (manifest `[[data]]`,
        /// [`data`](super::data)), mapped R-- in this view only; 0 = no data.
        pub const DATA: u64 = RESTARTS - 8;
        /// u64: times the hypervisor restarted this compartment from its pristine image
        /// (manifest `restart = "on-fault"`); 0 from a hypervisor older than the word.
        pub const RESTARTS: u64 = HEAP_BASE - 8;
        /// u64: lowest address of the view's heap (manifest `heap=`), mapped RW- in this
        /// view only; 0 from a hypervisor older than the word (no heap).
        pub const HEAP_BASE: u64 = 4096 - 16;
        /// u64: bytes of the heap from [`HEAP_BASE`]'s address (a multiple of 4096).
        pub const HEAP_SIZE: u64 = 4096 - 8;
        /// "TESSERA2".
        pub const MAGIC: u64 = u64::from_le_bytes(*b"TESSERA2");
    }

    /// State page layout (offsets), read-write to the view, read by the hypervisor.
    ///
    /// The call stack is two parallel arrays (so the gate indexes them with one scaled
    /// register): frame `i` is `TAGS[i]` and `RSPS[i]`, the stack pointer saved with it.
    /// A tag is [`tag`]`(kind, peer, at)`: an OUT frame (`at` = 0) says "this view called
    /// `peer` and waits"; an IN frame says "`peer` called this view from its frame `at`"
    /// (the caller sends its OUT frame's index with the call, in R14), so each link of a
    /// call chain names both of its ends.
    pub mod state {
        /// u64: frames on the call stack.
        pub const DEPTH: u64 = 0;
        // Offset 8 is unused since ABI 4 (it was ACTIVE, the count of IN frames: the
        // gate bounds DEPTH instead, info::DEPTH_LIMIT).
        /// u64: calls this view made (counted by the gate).
        pub const CALLS_OUT: u64 = 16;
        /// u64: calls this view accepted.
        pub const CALLS_IN: u64 = 24;
        /// u64 of the SDK's own: live views of grants in this compartment, times 2^32 (the
        /// SDK ORs it into the target view of every gate call, so the gate's own view
        /// bound refuses a call while one is alive). The gate and L1 never touch it.
        pub const SDK_LIVE_VIEWS: u64 = 32;
        /// u16 (in a u64): the data selector, which the receiving gate loads into DS, ES,
        /// FS, GS and SS straight from here (since ABI 3; one instruction each, no
        /// register to load first). L1 writes it with every new `main`; the view may
        /// write it, which changes only its own segments (or makes its own gate fault).
        pub const DATA_SELECTOR: u64 = 40;
        /// u64 that is always 0: `TAGS[-1]`, so a reply with no frame matches nothing.
        pub const SENTINEL: u64 = TAGS - 8;
        /// `TAGS[MAX_FRAMES]`.
        pub const TAGS: u64 = 64;
        /// Most frames.
        pub const MAX_FRAMES: u64 = 240;
        /// u64: the stack a call arriving while the view is idle (DEPTH 0) starts on,
        /// `RSPS[-1]` (since ABI 3), so the gate finds its new stack with one load
        /// whether the view is idle or waits: L1 writes the view's stack top here with
        /// every new `main` (`info::STACK_TOP`). The view may write it: it only chooses
        /// its own stack.
        pub const IDLE_RSP: u64 = TAGS + 8 * MAX_FRAMES;
        /// `RSPS[MAX_FRAMES]`.
        pub const RSPS: u64 = IDLE_RSP + 8;
        /// Frame kind: this view called `peer` and waits for its reply.
        pub const OUT: u64 = 1;
        /// Frame kind: `peer` called this view, which runs the export.
        pub const IN: u64 = 2;
        /// Bit position of the caller's frame index in an IN tag.
        pub const AT_SHIFT: u64 = 16;

        /// The tag of a frame.
        pub const fn tag(kind: u64, peer: u64, at: u64) -> u64 {
            (at << AT_SHIFT) | (peer << 2) | kind
        }
        /// The kind of a tag ([`OUT`], [`IN`], or something else for garbage).
        pub const fn kind(tag: u64) -> u64 {
            tag & 3
        }
        /// The peer of a tag.
        pub const fn peer(tag: u64) -> u64 {
            (tag & ((1 << AT_SHIFT) - 1)) >> 2
        }
        /// The caller's frame index an IN tag names.
        pub const fn at(tag: u64) -> u64 {
            tag >> AT_SHIFT
        }

        const _: () = assert!(RSPS + 8 * MAX_FRAMES <= 4096);
    }

    /// Data directory layout (offsets), one page written by the hypervisor and mapped
    /// R-- in the one view whose manifest `[[data]]` entries it lists ([`info::DATA`]
    /// says where). Entry `i` (below [`COUNT`]) is at `ENTRIES + ENTRY_SIZE * i`.
    pub mod data {
        /// u64: number of entries.
        pub const COUNT: u64 = 0;
        /// First entry.
        pub const ENTRIES: u64 = 64;
        /// Bytes per entry: the name (NUL-padded), then its address and length.
        pub const ENTRY_SIZE: u64 = 64;
        /// Offset in an entry of the name, [`NAME_LEN`] bytes, NUL-padded.
        pub const NAME: u64 = 0;
        /// Most bytes of a name (the manifest's name rule: 1–32 of `[a-z0-9_-]`).
        pub const NAME_LEN: u64 = 32;
        /// Offset in an entry of the u64 guest-physical address of the bytes (R--).
        pub const ADDR: u64 = 32;
        /// Offset in an entry of the u64 length in bytes.
        pub const LEN: u64 = 40;
        /// Most entries per view.
        pub const MAX_ENTRIES: u64 = (4096 - ENTRIES) / ENTRY_SIZE;
    }

    /// Shared page layout (offsets): one frame per view, mapped RW- in that view's roots
    /// on every vCPU and in no other view; zero at load and after a restart.
    pub mod shared {
        /// u64: for a `serial` compartment, 0 or k+1, the vCPU that has the view on its
        /// call chain (docs/gates.md "Manifest: `concurrency` and `cpu`"). The gate
        /// claims it (`lock cmpxchg` 0 → CPU+1) for a call into a view with no
        /// activation on this vCPU, refuses with [`BUSY`](super::status::BUSY) when
        /// another vCPU holds it, and stores 0 when that activation returns with no
        /// frame of the view left on this vCPU; L1 claims it for a serial `main` before
        /// it starts and releases it when the main ends (`World::claim_owner`,
        /// `release_owner`). Unused (0) in a parallel view.
        pub const OWNER: u64 = 0;
    }

    /// Channel page layout (offsets), written by the hypervisor, read-only to the view.
    ///
    /// For each `calls` edge S→T of the manifest the hypervisor maps one **call buffer**
    /// RW- (never executable) in exactly views S and T, at the same guest-physical
    /// address, followed by an unmapped guard page. The channel page of a view says where
    /// its buffers are, indexed by peer view, so the SDK finds them with plain loads (no
    /// VM exit): `OUT[T]` in S's page and `IN[S]` in T's page both name the buffer of
    /// edge S→T. An entry is [`entry`]`(gpa, bytes)`: the page-aligned GPA with the
    /// buffer's size in pages in its low 12 bits; 0 = no buffer (no such edge).
    ///
    /// The hypervisor never reads a call buffer: what is in it is the two parties'
    /// business (docs/gates.md, "Call buffers").
    pub mod channels {
        /// u32 × [`super::SLOT_COUNT`]: `OUT[peer]`, the buffer of edge this view → peer.
        pub const OUT: u64 = 0;
        /// u32 × [`super::SLOT_COUNT`]: `IN[peer]`, the buffer of edge peer → this view.
        pub const IN: u64 = 4 * super::SLOT_COUNT;
        /// Bytes of a call buffer unless the manifest says otherwise.
        pub const DEFAULT_SIZE: u64 = 4096;
        /// Largest buffer an entry can describe: 4095 pages.
        pub const MAX_SIZE: u64 = 0xFFF * 4096;

        /// The entry for a buffer of `bytes` (a non-zero multiple of 4096, at most
        /// [`MAX_SIZE`]) at page-aligned `gpa` below 4 GiB.
        pub const fn entry(gpa: u64, bytes: u64) -> u32 {
            (gpa as u32 & !0xFFF) | ((bytes / 4096) as u32 & 0xFFF)
        }
        /// The buffer's guest-physical address (0 = none).
        pub const fn gpa(entry: u32) -> u64 {
            (entry & !0xFFF) as u64
        }
        /// The buffer's size in bytes (0 = none).
        pub const fn bytes(entry: u32) -> u64 {
            (entry & 0xFFF) as u64 * 4096
        }

        const _: () = assert!(IN + 4 * super::SLOT_COUNT == 4096);
    }
}

/// How a compartment starts: the hypervisor enters at the ELF entry point in 64-bit
/// mode at CPL 0, interrupts off, with RSP ≡ 8 (mod 16) (as right after a `CALL`) at the
/// top of a stack below which lies an unmapped guard page, and RDI = 0 (reserved for a
/// boot-info pointer). Segments are mapped at their link addresses plus the region base
/// chosen by the hypervisor, with the permissions of their program headers.
pub mod entry {
    /// Bytes of stack the hypervisor gives each compartment (manifest `stack=` default).
    pub const STACK_SIZE: u64 = 64 * 1024;
    /// Bytes of heap the hypervisor gives each compartment (manifest `heap=` default);
    /// the SDK's allocator finds its heap in the info page
    /// ([`gate::info::HEAP_BASE`](crate::gate::info::HEAP_BASE)).
    pub const HEAP_SIZE: u64 = 64 * 1024;
}
