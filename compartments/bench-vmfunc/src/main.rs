//! Benchmarks in the VMFUNC fixture (kernel argument `conformance=1`, this compartment
//! alone, module name `bench-vmfunc`): the EPTP list has slot 0 = this compartment's view
//! and slots 1 and 511 = clones mapping the same memory, so this compartment's own code
//! can switch views and keep running.
//!
//! - `vmfunc-pair`: bare `VMFUNC` to slot 1 and back to slot 0 (A→B→A), the hardware
//!   floor of a gate round trip (with `switch=emulate`: two #UD exits emulated by L1);
//! - `switch-view`: the same round trip through the SWITCH_VIEW hypercall, i.e. what a
//!   design without VMFUNC pays (two VM exits, L1 loads the EPT pointer).
//!
//! Outside the fixture the first `VMFUNC` fails (slot 1 is no clone) and L1 stops this
//! compartment: run it through `cargo xtask bench`.
#![no_std]
#![no_main]

use bench_kit::{Bencher, exit_code};
use core::arch::asm;
use tessera_sdk::abi::hypercall::SWITCH_VIEW;
use tessera_sdk::hypercall::hypercall;

tessera_sdk::entry!(main);

/// The fixture's EPTP-list slots (`tessera_engine::fixture::slot`).
const BASE: u64 = 0;
const CLONE: u64 = 1;

/// `VMFUNC(0, 1)` then `VMFUNC(0, 0)`: to the clone view and back.
#[inline(always)]
fn vmfunc_pair() {
    // SAFETY: in the fixture, slots 0 and 1 map this compartment's code, data and stack
    // identically, so switching changes nothing Rust can observe; EAX stays 0 across
    // VMFUNC, ECX and the flags are declared clobbered. Outside the fixture L1 stops the
    // compartment at the first VMFUNC (it never resumes here in a foreign view).
    unsafe {
        asm!(
            ".byte 0x0f, 0x01, 0xd4",
            "xor ecx, ecx",
            ".byte 0x0f, 0x01, 0xd4",
            in("eax") 0u32,
            inout("ecx") CLONE as u32 => _,
            options(nostack),
        );
    }
}

/// SWITCH_VIEW to `slot`; true on success.
#[inline(always)]
fn switch_view(slot: u64) -> bool {
    // SAFETY: SWITCH_VIEW takes no pointer; the fixture's slots 0 and 1 map the same
    // memory, so the switch changes nothing Rust can observe.
    unsafe { hypercall(SWITCH_VIEW, slot, 0, 0, 0, 0, 0) == 0 }
}

fn main() -> i32 {
    let mut bench = Bencher::new();
    let pair = bench.run("vmfunc-pair", "", |_| {
        vmfunc_pair();
        true
    });
    if pair.is_err() {
        return exit_code(pair);
    }
    exit_code(bench.run("switch-view", "", |_| {
        switch_view(CLONE) & switch_view(BASE)
    }))
}
