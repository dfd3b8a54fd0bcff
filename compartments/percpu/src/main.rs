//! Per-vCPU views from a compartment's side (docs/gates.md "What a compartment's own data
//! sees"): `tessera_sdk::cpu()` and `cpus()` read this vCPU's info page, a `cpu_local!`
//! static lives in this vCPU's CPU-local page (`gate::LOCAL`), and a `sync::Mutex` guards
//! data shared by every vCPU. Reports what it saw in one line, `@@APP compartment=percpu
//! vcpu=K vcpus=N local=3 locked=2 page=1` (tests/tests/smp.rs): `local` counts three
//! borrows of the per-vCPU static, `locked` two increments under the lock, `page` says the
//! static's bytes are in the CPU-local page.
#![no_std]
#![no_main]

use tessera_sdk::abi::gate;
use tessera_sdk::sync::Mutex;

tessera_sdk::entry!(main);

tessera_sdk::cpu_local! {
    static CALLS: u64 = 0;
}

static SHARED: Mutex<u64> = Mutex::new(0);

fn main() -> i32 {
    let mut at = 0;
    for _ in 0..3 {
        CALLS.with(|n| {
            *n += 1;
            at = core::ptr::from_mut(n) as u64;
        });
    }
    let local = CALLS.with(|n| *n);
    for _ in 0..2 {
        *SHARED.lock() += 1;
    }
    let locked = *SHARED.lock();
    let page = (gate::LOCAL..gate::LOCAL + 4096).contains(&at);
    let sent = tessera_sdk::app!(
        vcpu = tessera_sdk::cpu(),
        vcpus = tessera_sdk::cpus(),
        local = local,
        locked = locked,
        page = u8::from(page),
    );
    if sent.is_err() {
        return 1;
    }
    0
}
