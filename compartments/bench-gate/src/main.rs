//! The caller of the gate benchmarks (docs/benchmarks.md). It finds its callees by name
//! (`callee-1`, `callee-2`, ... up to the first name LOOKUP does not know), then:
//!
//! - with one callee (the `gates` declaration, 2 views), the whole suite: `call` (a plain
//!   function call, the baseline), `vmcall` (the null hypercall EXIT_COUNT), `gate-0`,
//!   `gate-2`, `gate-6` (typed SDK gate calls with 0, 2 and 6 arguments), `gate-raw`
//!   (the gate entry called directly, without the SDK around it) and `gate-4k` (the
//!   callee sums the 4 KiB grant `buf`), then `gate-rr`;
//! - with more (the scaling runs), only `gate-rr`: 0-argument gate calls to every callee
//!   in turn (round-robin), reported with `"views":N`.
//!
//! Every result is checked; a wrong one ends the compartment with a non-zero code.
#![no_std]
#![no_main]

use bench_kit::{Bencher, Failed, Stats, exit_code};
use core::arch::asm;
use core::hint::black_box;
use tessera_sdk::abi::gate as abi;
use tessera_sdk::gate::{self, Export};
use tessera_sdk::hypercall::try_exit_count;
use tessera_sdk::prelude::*;

tessera_sdk::entry!(main);

tessera_sdk::import! {
    callee = "callee-1" {
        fn nop();
        fn add2(a: u64, b: u64) -> u64;
        fn add6(a: u64, b: u64, c: u64, d: u64, e: u64, f: u64) -> u64;
        fn sum() -> u64;
    }
}

/// Most callees: the EPTP list has 512 entries and Tessera uses at most 511 views.
const MAX_CALLEES: usize = 510;

/// The baseline: an ordinary call the compiler may not inline or fold.
#[inline(never)]
fn plain(x: u64) -> u64 {
    x.wrapping_add(1)
}

/// A gate call with no SDK around it: `call [CODE]` with R11 = view, RAX = export, the
/// six argument registers zero. Returns the gate's status (RDX).
#[inline(always)]
fn raw_gate_call(target: Export) -> u64 {
    let status: u64;
    // SAFETY: as the SDK's own gate call (tessera_sdk::gate): the gate returns here with
    // RSP, RBX and RBP preserved; every register it may change is an operand or a
    // clobber (R12–R14, and the rest through `clobber_abi("sysv64")`); not `nomem`, and no Rust reference
    // into a grant is alive (this compartment holds no grant view while benchmarking).
    unsafe {
        asm!(
            "call rcx",
            inlateout("rcx") abi::CODE + abi::entry::CALL => _,
            inlateout("r11") u64::from(target.view) => _,
            inlateout("rax") u64::from(target.index) => _,
            inlateout("rdi") 0u64 => _,
            inlateout("rsi") 0u64 => _,
            inlateout("rdx") 0u64 => status,
            inlateout("r10") 0u64 => _,
            inlateout("r8") 0u64 => _,
            inlateout("r9") 0u64 => _,
            out("r12") _,
            out("r13") _,
            out("r14") _,
            clobber_abi("sysv64"),
        );
    }
    status
}

/// `nop` of `callee-1`, `callee-2`, ... while LOOKUP knows the name.
fn callees() -> Vec<Export> {
    let mut found = Vec::new();
    for k in 1..=MAX_CALLEES {
        match gate::lookup(&format!("callee-{k}"), "nop") {
            Ok(export) => found.push(export),
            Err(_) => break,
        }
    }
    found
}

/// The suite with one callee (everything but `gate-rr`).
fn suite(bench: &mut Bencher, callee: Export) -> Result<Stats, Failed> {
    bench.run("call", "", |i| {
        let i = i as u64;
        black_box(plain(black_box(i))) == i + 1
    })?;
    bench.run("vmcall", "", |_| try_exit_count().is_ok())?;
    bench.run("gate-0", "", |_| callee::nop().is_ok())?;
    bench.run("gate-2", "", |i| {
        let i = i as u64;
        callee::add2(i, 1) == Ok(i + 1)
    })?;
    bench.run("gate-6", "", |i| {
        let i = i as u64;
        callee::add6(i, 1, 2, 3, 4, 5) == Ok(i + 15)
    })?;
    bench.run("gate-raw", "", |_| raw_gate_call(callee) == abi::status::OK)?;

    let mut buf = match grant("buf") {
        Ok(buf) => buf,
        Err(e) => {
            println!("bench: no grant buf: {e}");
            return Err(Failed::WrongResult);
        }
    };
    let mut expected = 0u64;
    if let Some(mut bytes) = buf.bytes_mut() {
        for (i, word) in bytes.chunks_exact_mut(8).enumerate() {
            let value = (i as u64).wrapping_mul(0x0101_0101_0101_0101);
            word.copy_from_slice(&value.to_le_bytes());
            expected = expected.wrapping_add(value);
        }
    }
    bench.run("gate-4k", "\"bytes\":4096", |_| {
        callee::sum() == Ok(expected)
    })
}

fn main() -> i32 {
    let callees = callees();
    let Some(&first) = callees.first() else {
        println!("bench: no compartment callee-1 to call (is the manifest right?)");
        return 1;
    };
    let mut bench = Bencher::new();
    println!(
        "bench: {} callee(s), timer overhead {} ticks",
        callees.len(),
        bench.overhead()
    );
    if callees.len() == 1 {
        let suite = suite(&mut bench, first);
        if suite.is_err() {
            return exit_code(suite);
        }
    }
    let views = format!("\"views\":{}", callees.len() + 1);
    let mut next = 0;
    exit_code(bench.run("gate-rr", &views, |_| {
        let target = callees[next];
        next += 1;
        if next == callees.len() {
            next = 0;
        }
        gate::call(target, [0; 6]).is_ok()
    }))
}
