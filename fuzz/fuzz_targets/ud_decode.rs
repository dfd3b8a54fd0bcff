//! Fuzz target `ud_decode`: the #UD instruction decoder of the emulation path
//! (`tessera_core::vmfunc::decode_ud`, `tessera_core::decode::length_if`), which reads the
//! bytes at a compartment's RIP, and the VMFUNC byte scanner (`tessera_core::scan`).
//!
//! Input: the bytes at the guest RIP (up to 15 are fetched). Properties: nothing panics;
//! a recognised instruction really is those bytes; a length is the prefixes plus the
//! opcode, at most 15; the scanner, fed the input in pieces, finds exactly what a plain
//! search over the whole input finds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_core::decode::{CPUID, length_if};
use tessera_core::scan::{Scanner, VMFUNC, sites};
use tessera_core::vmfunc::{UdInstruction, decode_ud};

const VMCALL: [u8; 3] = [0x0F, 0x01, 0xC1];

fuzz_target!(|data: &[u8]| {
    match decode_ud(data) {
        UdInstruction::Vmfunc => assert!(data.starts_with(&VMFUNC)),
        UdInstruction::Vmcall => assert!(data.starts_with(&VMCALL)),
        UdInstruction::Icebp => assert_eq!(data.first(), Some(&0xF1)),
        UdInstruction::Other => assert!(
            !data.starts_with(&VMFUNC) && !data.starts_with(&VMCALL) && data.first() != Some(&0xF1)
        ),
    }
    for opcode in [&VMFUNC[..], &VMCALL[..], &CPUID[..]] {
        if let Some(len) = length_if(data, opcode) {
            let len = len as usize;
            assert!(len <= 15 && len <= data.len() && len >= opcode.len());
            assert_eq!(&data[len - opcode.len()..len], opcode);
        }
    }
    // The scanner over pieces whose sizes come from the input's first byte.
    let plain: Vec<u64> = data
        .windows(3)
        .enumerate()
        .filter(|(_, w)| *w == VMFUNC)
        .map(|(i, _)| i as u64)
        .collect();
    assert_eq!(
        sites(data).iter().map(|&s| s as u64).collect::<Vec<_>>(),
        plain
    );
    let step = usize::from(data.first().copied().unwrap_or(1) % 7) + 1;
    let mut scanner = Scanner::new();
    let mut found = Vec::new();
    for (i, piece) in data.chunks(step).enumerate() {
        scanner.feed((i * step) as u64, piece, |at| found.push(at));
    }
    assert_eq!(found, plain);
});
