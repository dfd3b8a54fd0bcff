//! Attack (DESIGN §6 property 7): nothing but arguments and results crosses a gate.
//!
//! 1. Calls state-probe's `snapshot` with DF = 1 and AC = 1, null selectors (RPL 3) in
//!    DS, ES, FS and GS and a secret in CR2: the callee must see RFLAGS = 0x202, the data
//!    selector in all five segment registers and CR2 = 0.
//! 2. Calls state-probe's `copy_sum` with DF = 1: a `rep movsb` in the callee must copy
//!    forwards (the vault demo's signing was crashed this way).
//! 3. Calls attack-dirty-callee's `dirty`, which returns with DF, AC, null segments and
//!    CR2 set: this compartment must get back RFLAGS = 0x202, the data segments, CR2 = 0.
//! 4. Executes an x87 instruction, which would carry state from one call to the next:
//!    guests run with CR0.EM = 1, so it faults (#NM): `@@FAULT kind=exception vector=7`.
//!
//! Any state that crossed prints a `not contained` line.
#![no_std]
#![no_main]

use attack_kit::{Dirt, Regs, call_at_dirty, not_contained, observed};
use core::arch::asm;
use tessera_sdk::abi::gate;
use tessera_sdk::gate::lookup;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

const NAME: &str = env!("CARGO_PKG_NAME");
/// The guest's data selector: what every segment register must hold at a gate crossing.
const DATA: u64 = 0x10;
const DF_AC: u64 = 0x202 | (1 << 10) | (1 << 18);
const SECRET: u64 = 0xF1A6_5EC2;

tessera_sdk::import! {
    state_probe = "state-probe" {
        fn seen(i: u64) -> u64;
    }
}

/// Calls export `export` of `compartment` through the gate's entry with `dirt` left.
fn dirty_call(compartment: &str, export: &str, dirt: Dirt) -> Result<u64, u64> {
    let target = lookup(compartment, export).map_err(|_| u64::MAX)?;
    let regs = Regs {
        rax: target.index.into(),
        r11: target.view.into(),
        ..Regs::default()
    };
    // SAFETY: a well-formed call through the gate's entry; the dirt is the attack.
    let (rax, rdx) = unsafe { call_at_dirty(gate::CODE + gate::entry::CALL, regs, dirt) };
    if rdx == gate::status::OK {
        Ok(rax)
    } else {
        Err(rdx)
    }
}

fn main() -> i32 {
    let dirt = Dirt {
        rflags: DF_AC,
        selector: 3,
        cr2: SECRET,
    };
    if let Err(status) = dirty_call("state-probe", "snapshot", dirt) {
        println!("{NAME}: state-probe.snapshot failed with status {status}");
        return 1;
    }
    let seen: [u64; 7] = core::array::from_fn(|i| state_probe::seen(i as u64).unwrap_or(0));
    let want = [0x202, DATA, DATA, DATA, DATA, DATA, 0];
    if seen != want {
        return not_contained(
            NAME,
            format_args!("the callee saw {seen:#x?}, not {want:#x?}"),
        );
    }
    println!("{NAME}: the callee saw RFLAGS=0x202, data segments, CR2=0");

    let df = Dirt {
        rflags: 0x202 | (1 << 10),
        ..Dirt::default()
    };
    match dirty_call("state-probe", "copy_sum", df) {
        Ok(2016) => println!("{NAME}: rep movsb in the callee copied forwards (sum 2016)"),
        other => return not_contained(NAME, format_args!("copy_sum with DF=1 -> {other:?}")),
    }

    if let Err(status) = dirty_call("attack-dirty-callee", "dirty", Dirt::default()) {
        println!("{NAME}: attack-dirty-callee.dirty failed with status {status}");
        return 1;
    }
    let back = observed();
    if back.rflags != 0x202 || back.segments != [DATA; 5] || back.cr2 != 0 {
        return not_contained(NAME, format_args!("the dirty callee left {back:#x?}"));
    }
    println!("{NAME}: the dirty callee left nothing: RFLAGS=0x202, data segments, CR2=0");

    println!("{NAME}: executing fld1 (x87 state would cross calls)");
    // SAFETY: deliberately faulting: with CR0.EM = 1 the hypervisor stops this
    // compartment at the x87 instruction (#NM).
    unsafe { asm!("fld1", options(nostack)) };
    not_contained(NAME, format_args!("fld1 executed"))
}
