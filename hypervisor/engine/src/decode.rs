//! Decoding exits whose record does not say everything, from the instruction bytes
//! (fetched through a [`Code`], as the CPU fetches them): what the backends use to
//! normalise their exits into core's `VmExit` (AMD: VMCALL and ICEBP raise #UD, INTn
//! arrives without its vector, CPUID without its length; both vendors: a VMFUNC that
//! raised #UD because the CPU does not switch views itself now).

use crate::backend::{Code, Loaded};
use tessera_core::exit::{Access, Privileged, VmExit};
use tessera_core::vmfunc::{MAX_LEN, UdInstruction, decode_ud};

/// Fetches up to 15 bytes at `rip` through `from`, stopping before the first byte the
/// tables do not let the CPU fetch; returns them and how many there are.
pub fn fetch_up_to(code: &dyn Code, from: Loaded, rip: u64) -> ([u8; MAX_LEN], usize) {
    let mut bytes = [0u8; MAX_LEN];
    let mut n = 0;
    while n < MAX_LEN {
        match from.fetch(code, rip.wrapping_add(n as u64)) {
            Ok(b) => bytes[n] = b,
            Err(_) => break,
        }
        n += 1;
    }
    (bytes, n)
}

/// What the #UD at `rip` is (docs/vmfunc.md), fetched through `from` (the tables the CPU
/// is in). The instruction is fetched one byte at a time, as long as the decoder needs
/// more (never a byte past it); a byte the tables do not let the CPU fetch is the fetch's
/// EPT violation / NPF, which hardware would have raised before any #UD.
///
/// - `VMFUNC` (with the prefixes the SDM allows): [`VmExit::VmFuncUd`], for the engine to
///   emulate — unless `hardware_switching`, where the CPU itself refused it (a genuine #UD).
/// - `VMCALL`: the hypercall (on AMD it raises #UD).
/// - `ICEBP`: the privileged instruction it is (QEMU TCG raises #UD for it).
/// - more than 15 bytes of prefixes: #GP(0), as the CPU raises it.
/// - anything else: the #UD itself.
#[inline]
pub fn invalid_opcode(code: &dyn Code, from: Loaded, rip: u64, hardware_switching: bool) -> VmExit {
    if let (false, Loaded::View(view)) = (hardware_switching, from) {
        // The hot path: a gate's VMFUNC at the view's own slot, decided without fetching.
        if let Some(len) = tessera_core::protocol::own_slot_vmfunc(rip, u64::from(view.0)) {
            return VmExit::VmFuncUd { len };
        }
    }
    fetch_and_decode(code, from, rip, hardware_switching)
}

/// [`invalid_opcode`] from the instruction's bytes.
fn fetch_and_decode(code: &dyn Code, from: Loaded, rip: u64, hardware_switching: bool) -> VmExit {
    let ud = VmExit::Exception {
        vector: 6,
        error_code: None,
    };
    let mut bytes = [0u8; MAX_LEN];
    for n in 0..MAX_LEN {
        let at = rip.wrapping_add(n as u64);
        bytes[n] = match from.fetch(code, at) {
            Ok(byte) => byte,
            Err(allowed) => {
                return VmExit::MemoryViolation {
                    gpa: at,
                    access: Access {
                        read: false,
                        write: false,
                        execute: true,
                    },
                    allowed,
                };
            }
        };
        match decode_ud(&bytes[..=n]) {
            UdInstruction::Incomplete => continue,
            UdInstruction::Vmcall => return VmExit::Hypercall { len: 3 },
            UdInstruction::Icebp => return VmExit::Privileged(Privileged::Icebp),
            UdInstruction::TooLong => break,
            UdInstruction::Other => return ud,
            UdInstruction::Vmfunc { .. } if hardware_switching => return ud,
            UdInstruction::Vmfunc { len } => {
                return VmExit::VmFuncUd {
                    len: u64::from(len),
                };
            }
        }
    }
    VmExit::Exception {
        vector: 13,
        error_code: Some(0),
    }
}

/// The exception the software interrupt at `rip` (fetched through `from`) raises (`tessera_core::exit::
/// software_interrupt`: prefixes included, `66 CD 21` is INT 21h).
pub fn software_interrupt(code: &dyn Code, from: Loaded, rip: u64) -> VmExit {
    let (bytes, n) = fetch_up_to(code, from, rip);
    tessera_core::exit::software_interrupt(&bytes[..n])
}

/// The length of the instruction with `opcode` at `rip` (prefixes included), decoded
/// where the exit record does not give it; `fallback` if the bytes cannot be fetched.
pub fn length(code: &dyn Code, from: Loaded, rip: u64, opcode: &[u8], fallback: u64) -> u64 {
    let (bytes, n) = fetch_up_to(code, from, rip);
    tessera_core::decode::length_if(&bytes[..n], opcode).unwrap_or(fallback)
}
