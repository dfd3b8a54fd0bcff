//! Instruction lengths the SVM backend needs without NRIP save (QEMU TCG has none): it
//! decodes the bytes at the guest RIP instead of guessing (Intel SDM Vol. 2A §2.1:
//! legacy prefixes, then an optional REX prefix, then the opcode).

/// Legacy prefixes (SDM 2A §2.1.1) and REX (40–4F, 64-bit mode).
pub fn is_prefix(b: u8) -> bool {
    matches!(
        b,
        0x66 | 0x67 | 0xF2 | 0xF3 | 0xF0 | 0x2E | 0x36 | 0x3E | 0x26 | 0x64 | 0x65
    ) || (0x40..=0x4F).contains(&b)
}

/// Length of the instruction at the start of `bytes` if, after any prefixes (at most 14,
/// the architectural limit being 15 bytes in all), its opcode is exactly `opcode`.
pub fn length_if(bytes: &[u8], opcode: &[u8]) -> Option<u64> {
    let prefixes = bytes.iter().take(14).take_while(|b| is_prefix(**b)).count();
    let rest = bytes.get(prefixes..)?;
    (rest.starts_with(opcode) && prefixes + opcode.len() <= 15)
        .then_some((prefixes + opcode.len()) as u64)
}

/// CPUID: `0F A2`.
pub const CPUID: [u8; 2] = [0x0F, 0xA2];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_count_prefixes() {
        assert_eq!(length_if(&[0x0F, 0xA2, 0x90], &CPUID), Some(2));
        assert_eq!(length_if(&[0x66, 0x0F, 0xA2], &CPUID), Some(3));
        assert_eq!(length_if(&[0x48, 0x0F, 0xA2], &CPUID), Some(3));
        assert_eq!(length_if(&[0x0F, 0x0B], &CPUID), None);
        assert_eq!(length_if(&[0x66; 20], &CPUID), None);
        assert_eq!(length_if(&[], &CPUID), None);
    }
}
