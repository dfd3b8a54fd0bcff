//! What the SMP scenarios' compartments (`compartments/smp/*`, `compartments/smp-*`)
//! share: the board's slots, bounded polling (no side ever waits on a guess, and no wait
//! can hang a boot), and one word per call result for their `@@APP` lines.
#![no_std]

use tessera_sdk::CallError;

/// Most times any main polls for something another vCPU does: far more than any wait in
/// these scenarios needs (each poll is a gate call, a few hundred instructions), few
/// enough that a wait that never ends ends the boot in seconds, reported as not seen.
pub const POLLS: u64 = 1 << 20;

/// The words of the `board` compartment (`smp-board`) the `busy` scenario uses.
pub mod slot {
    /// Set by `keeper.hold()` once it runs: the keeper is busy on the holder's vCPU.
    pub const HELD: u64 = 0;
    /// Set by the contender: `keeper.hold()` may return.
    pub const RELEASE: u64 = 1;
    /// Set by the holder once `keeper.hold()` returned: the keeper is free again.
    pub const DONE: u64 = 2;
}

/// One word for how a call ended: `ok`, or the error's name in kebab case.
pub fn word(result: &Result<u64, CallError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(CallError::CalleeFailed) => "callee-failed",
        Err(CallError::Restarting) => "restarting",
        Err(CallError::Busy) => "busy",
        Err(CallError::NotPermitted) => "not-permitted",
        Err(CallError::NoSuchExport) => "no-such-export",
        Err(CallError::TooDeep) => "too-deep",
        Err(CallError::Refused) => "refused",
        Err(_) => "other-error",
    }
}

/// Calls `probe` until it says `true`, at most [`POLLS`] times; `Some(polls)` when it
/// did, `None` when it never did.
pub fn poll_until(mut probe: impl FnMut() -> bool) -> Option<u64> {
    (1..=POLLS).find(|_| {
        let seen = probe();
        if !seen {
            core::hint::spin_loop();
        }
        seen
    })
}

/// Calls `call` until it is answered (no error), at most [`POLLS`] times, making one VM
/// exit (the EXIT_COUNT hypercall) before each try: a restart happens at an exit of a
/// vCPU (once no vCPU has a frame of the compartment and every vCPU running at its stop
/// has exited since), and with hardware VMFUNC a refused call makes no exit. Returns the
/// answer, or the last refusal.
pub fn call_until_answered(
    mut call: impl FnMut() -> Result<u64, CallError>,
) -> (Result<u64, CallError>, u64) {
    let mut last = Err(CallError::CalleeFailed);
    for polls in 1..=POLLS {
        let _ = tessera_sdk::hypercall::try_exit_count();
        last = call();
        if last.is_ok() {
            return (last, polls);
        }
    }
    (last, POLLS)
}
