//! Fuzz target `ud_decode`: the #UD instruction decoder of the emulation path
//! (`tessera_core::vmfunc::decode_ud`, `tessera_core::decode::length_if`), which reads the
//! bytes at a compartment's RIP, and the VMFUNC byte scanner (`tessera_core::scan`).
//!
//! Input: the bytes at the guest RIP (the kernel fetches them one at a time while the
//! decoder says `Incomplete`, at most 15). Properties: nothing panics; a decision, once
//! made, stays the same whatever bytes follow (the kernel never reads past the
//! instruction); a recognised VMFUNC is a run of segment/67/REX prefixes and `0F 01 D4`
//! within 15 bytes, VMCALL exactly `0F 01 C1`, ICEBP prefixes without LOCK and `F1`;
//! `TooLong` only once 15 bytes are in; a length is the prefixes plus the opcode, at most
//! 15; the scanner, fed the input in pieces, finds exactly what a plain search over the
//! whole input finds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_core::decode::{CPUID, length_if};
use tessera_core::scan::{Scanner, VMFUNC, sites};
use tessera_core::vmfunc::{MAX_LEN, UdInstruction, decode_ud};

const VMCALL: [u8; 3] = [0x0F, 0x01, 0xC1];

fuzz_target!(|data: &[u8]| {
    let harmless = |b: &u8| {
        matches!(
            b,
            0x26 | 0x2E | 0x36 | 0x3E | 0x64 | 0x65 | 0x67 | 0x40..=0x4F
        )
    };
    let mut decided = None;
    for n in 0..=data.len() {
        let d = decode_ud(&data[..n]);
        match (decided, d) {
            (None, UdInstruction::Incomplete) => assert!(n < MAX_LEN),
            (None, d) => decided = Some((n, d)),
            (Some((_, first)), d) => assert_eq!(d, first, "a later byte changed the decision"),
        }
    }
    match decided {
        Some((n, UdInstruction::Vmfunc { len })) => {
            let len = usize::from(len);
            assert_eq!(n, len);
            assert!(len <= MAX_LEN && data[..len - 3].iter().all(harmless));
            assert_eq!(&data[len - 3..len], &VMFUNC);
        }
        Some((n, UdInstruction::Vmcall)) => assert!(n == 3 && data.starts_with(&VMCALL)),
        Some((n, UdInstruction::Icebp)) => {
            assert!(data[n - 1] == 0xF1 && !data[..n - 1].contains(&0xF0));
        }
        Some((n, UdInstruction::TooLong)) => assert_eq!(n, MAX_LEN),
        Some((_, UdInstruction::Other)) => {
            assert!(!data.starts_with(&VMFUNC) && !data.starts_with(&VMCALL));
        }
        Some((_, UdInstruction::Incomplete)) => unreachable!(),
        None => assert!(data.len() < MAX_LEN),
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
