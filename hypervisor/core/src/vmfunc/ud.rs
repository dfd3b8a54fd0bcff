//! Decoding the instruction at a guest RIP that raised #UD, as the emulation path must
//! (docs/vmfunc.md, "Prefixes"). The rules, from the Intel SDM:
//!
//! - Vol. 2A §2.1.1 "Instruction Prefixes": legacy prefixes are LOCK (F0), REPNE/REP
//!   (F2/F3), the segment overrides (2E 36 3E 26 64 65) and the operand-size (66) and
//!   address-size (67) overrides; "some instructions may use F2/F3/66 as a mandatory
//!   prefix"; the segment overrides are ignored by instructions without a memory operand
//!   (and, in 64-bit mode, CS/SS/DS/ES ones always); 67 likewise has nothing to change.
//! - Vol. 2A §2.2.1 "REX Prefixes": 40–4F in 64-bit mode; "a REX prefix is ignored … when
//!   used with an instruction that has no meaning for it", and one followed by a legacy
//!   prefix is ignored as well. REX.W changes no operand of VMFUNC: EAX and ECX are read.
//! - Vol. 2A §2.3.11 / Vol. 3A §6.15 (#GP): an instruction longer than 15 bytes raises
//!   #GP(0); redundant prefixes count towards the limit.
//! - Vol. 2B "VMFUNC": the opcode is `NP 0F 01 D4` — "NP: 66/F2/F3 prefixes are not
//!   allowed" (#UD) — and "#UD if the LOCK prefix is used".
//!
//! So VMFUNC runs with any run of segment, 67 and REX prefixes that keeps it within 15
//! bytes, and its length (what RIP advances by, what exit 59 saves) counts them.
//!
//! `VMCALL` (`0F 01 C1`, the hypercall on AMD) is accepted only unprefixed, exactly as
//! before; `ICEBP` (`F1`) after any prefixes but LOCK (a prefix does not change it, and
//! every engine reports it as ICEBP).

/// The architectural instruction-length limit.
pub const MAX_LEN: usize = 15;

/// What the bytes at a #UD's RIP are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UdInstruction {
    /// `VMFUNC`, `len` bytes with its prefixes (3 to 15).
    Vmfunc { len: u8 },
    /// `0F 01 C1`, unprefixed (the hypercall on AMD, where it raises #UD).
    Vmcall,
    /// `F1`, ICEBP, possibly after prefixes: QEMU TCG's SVM raises #UD for it instead of
    /// the ICEBP intercept; it is reported as the privileged instruction it is.
    Icebp,
    /// Prefixes that would make the instruction longer than 15 bytes: #GP(0).
    TooLong,
    /// The bytes so far begin an instruction this decoder accepts, or a run of prefixes:
    /// fetch one more byte (never returned for 15 bytes or more).
    Incomplete,
    /// Anything else, prefixed VMFUNC forms the SDM refuses included: a genuine #UD.
    Other,
}

/// Legacy prefixes that leave `VMFUNC` as it is: segment overrides and 67.
fn is_harmless_legacy(b: u8) -> bool {
    matches!(b, 0x2E | 0x36 | 0x3E | 0x26 | 0x64 | 0x65 | 0x67)
}

/// Prefixes `VMFUNC` refuses with #UD: 66, F2, F3 (its `NP`) and LOCK.
fn is_refused(b: u8) -> bool {
    matches!(b, 0x66 | 0xF2 | 0xF3 | 0xF0)
}

fn is_rex(b: u8) -> bool {
    (0x40..=0x4F).contains(&b)
}

fn is_prefix(b: u8) -> bool {
    is_harmless_legacy(b) || is_refused(b) || is_rex(b)
}

const VMFUNC: [u8; 3] = [0x0F, 0x01, 0xD4];
const VMCALL: [u8; 3] = [0x0F, 0x01, 0xC1];

/// Decodes the bytes fetched so far at the guest RIP. The caller fetches them one at a
/// time (through the current view) while this says [`UdInstruction::Incomplete`], so it
/// reads no byte the instruction does not have — as the CPU fetches — and a fetch that
/// fails is the instruction's own fetch fault.
pub fn decode_ud(bytes: &[u8]) -> UdInstruction {
    // No instruction has more than 15 bytes: what follows cannot change the decision.
    let bytes = &bytes[..bytes.len().min(MAX_LEN)];
    let prefixes = bytes.iter().take_while(|b| is_prefix(**b)).count();
    let (run, rest) = bytes.split_at(prefixes);
    if prefixes >= MAX_LEN {
        return UdInstruction::TooLong;
    }
    let refused = run.iter().any(|b| is_refused(*b));
    let lock = run.contains(&0xF0);
    match rest {
        [] => UdInstruction::Incomplete,
        [0xF1, ..] if lock => UdInstruction::Other,
        [0xF1, ..] => UdInstruction::Icebp,
        _ if prefixes == 0 && rest.starts_with(&VMCALL) => UdInstruction::Vmcall,
        _ if rest.len() < VMFUNC.len() && VMFUNC.starts_with(rest) => {
            if prefixes + rest.len() >= MAX_LEN {
                UdInstruction::TooLong
            } else {
                UdInstruction::Incomplete
            }
        }
        _ if prefixes == 0 && rest.len() < VMCALL.len() && VMCALL.starts_with(rest) => {
            UdInstruction::Incomplete
        }
        _ if rest.starts_with(&VMFUNC) => {
            let len = prefixes + VMFUNC.len();
            if len > MAX_LEN {
                UdInstruction::TooLong
            } else if refused {
                UdInstruction::Other
            } else {
                UdInstruction::Vmfunc { len: len as u8 }
            }
        }
        _ => UdInstruction::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use UdInstruction::*;
    use alloc::vec::Vec;

    /// Decodes as the kernel does: one byte more while incomplete.
    fn fetch_decode(bytes: &[u8]) -> (UdInstruction, usize) {
        for n in 1..=bytes.len().min(MAX_LEN) {
            let d = decode_ud(&bytes[..n]);
            if d != Incomplete {
                return (d, n);
            }
        }
        (Incomplete, bytes.len())
    }

    fn with(prefixes: &[u8], tail: &[u8]) -> Vec<u8> {
        let mut v = prefixes.to_vec();
        v.extend_from_slice(tail);
        v.push(0x90); // whatever follows must not be read
        v
    }

    /// The SDM transcription (module docs): every single prefix byte before VMFUNC.
    #[test]
    fn every_single_prefix_as_the_sdm_says() {
        for p in 0u8..=255 {
            let bytes = with(&[p], &VMFUNC);
            let want = match p {
                0x2E | 0x36 | 0x3E | 0x26 | 0x64 | 0x65 | 0x67 | 0x40..=0x4F => Vmfunc { len: 4 },
                0x66 | 0xF2 | 0xF3 | 0xF0 => Other,
                0xF1 => Icebp, // ICEBP, then bytes that are not its
                _ => Other,
            };
            assert_eq!(fetch_decode(&bytes).0, want, "prefix {p:#04x}");
        }
        assert_eq!(fetch_decode(&with(&[], &VMFUNC)), (Vmfunc { len: 3 }, 3));
        // REX.W, REX after a segment override, a segment override after REX (REX then
        // ignored), several redundant prefixes, 67 with REX.
        for run in [
            &[0x48][..],
            &[0x2E, 0x48],
            &[0x4F, 0x65],
            &[0x3E, 0x3E, 0x3E],
            &[0x67, 0x41],
            &[0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x67, 0x40],
        ] {
            let len = run.len() as u8 + 3;
            assert_eq!(
                fetch_decode(&with(run, &VMFUNC)),
                (Vmfunc { len }, len.into())
            );
        }
        // A refused prefix anywhere in the run.
        for run in [
            &[0x2E, 0x66][..],
            &[0x66, 0x2E],
            &[0x48, 0xF3],
            &[0xF0, 0x48],
        ] {
            assert_eq!(fetch_decode(&with(run, &VMFUNC)).0, Other, "{run:02x?}");
        }
    }

    #[test]
    fn the_fifteen_byte_limit() {
        // 12 prefixes + 3 = 15 bytes: executes.
        assert_eq!(
            fetch_decode(&with(&[0x2E; 12], &VMFUNC)),
            (Vmfunc { len: 15 }, 15)
        );
        // 13 prefixes: 16 bytes, #GP(0) once the 15th byte shows it cannot fit.
        assert_eq!(fetch_decode(&with(&[0x2E; 13], &VMFUNC)), (TooLong, 15));
        assert_eq!(fetch_decode(&with(&[0x3E; 14], &VMFUNC)), (TooLong, 15));
        assert_eq!(fetch_decode(&[0x2E; 20]), (TooLong, 15));
        // Found by the ud_decode fuzz target: 14 prefixes and `0F` are already too long,
        // whatever bytes come after (the decision must not change with more bytes).
        let long = [
            0x2E, 0x44, 0x4C, 0x44, 0x44, 0x44, 0x65, 0x2E, 0x2E, 0x2E, 0x2E, 0x2E, 0x2E, 0x2E,
            0x0F, 0x01, 0x26, 0x2E,
        ];
        for n in 15..=long.len() {
            assert_eq!(decode_ud(&long[..n]), TooLong, "{n} bytes");
        }
        // Too long wins over a refused prefix (the length is decided while decoding).
        assert_eq!(fetch_decode(&with(&[0x66; 13], &VMFUNC)).0, TooLong);
    }

    #[test]
    fn vmcall_icebp_and_the_rest() {
        assert_eq!(fetch_decode(&[0x0F, 0x01, 0xC1, 0x90]), (Vmcall, 3));
        assert_eq!(fetch_decode(&[0x2E, 0x0F, 0x01, 0xC1]).0, Other);
        assert_eq!(fetch_decode(&[0xF1, 0x90]), (Icebp, 1));
        assert_eq!(fetch_decode(&[0x2E, 0x66, 0xF1]), (Icebp, 3));
        assert_eq!(fetch_decode(&[0xF0, 0xF1]).0, Other);
        for other in [
            &[0x0F, 0x0B, 0x00][..],
            &[0x0F, 0x01, 0xD5],
            &[0x0F, 0x02],
            &[0xCC],
            &[0x48, 0x0F, 0x05],
        ] {
            assert_eq!(fetch_decode(other).0, Other, "{other:02x?}");
        }
        // Never more bytes than the instruction has.
        assert_eq!(decode_ud(&[]), Incomplete);
        assert_eq!(decode_ud(&[0x0F]), Incomplete);
        assert_eq!(decode_ud(&[0x0F, 0x01]), Incomplete);
        assert_eq!(decode_ud(&[0x48, 0x0F, 0x01]), Incomplete);
        assert_eq!(decode_ud(&[0x0F, 0x0B]), Other);
    }
}
