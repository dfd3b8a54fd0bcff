//! The EPTP validator against a direct transcription of the SDM's rules.

use super::*;

/// A direct transcription of the EPTP bullets of SDM 3C "Checks on VM-Execution
/// Control Fields", returning the index of the first rule broken.
fn eptp_transcription(v: u64, r: &EptpRules) -> Option<usize> {
    let memory_type = v & 0b111;
    let walk = (v >> 3) & 0b111;
    let rules = [
        (memory_type == 0 && r.uc) || (memory_type == 6 && r.wb),
        (walk == 3 && r.walk4) || (walk == 4 && r.walk5),
        v & (1 << 6) == 0 || r.ad,
        (v >> 7) & 0b1_1111 == 0,
        r.maxphyaddr >= 64 || v >> r.maxphyaddr == 0,
    ];
    rules.iter().position(|ok| !ok)
}

fn eptp_rule_of(error: EptpError) -> usize {
    match error {
        EptpError::MemoryTypeReserved { .. }
        | EptpError::UncacheableUnsupported
        | EptpError::WriteBackUnsupported => 0,
        EptpError::WalkLengthReserved { .. }
        | EptpError::FourLevelWalkUnsupported
        | EptpError::FiveLevelWalkUnsupported => 1,
        EptpError::AccessDirtyUnsupported => 2,
        EptpError::ReservedBitsSet { .. } => 3,
        EptpError::BeyondMaxPhyAddr { .. } => 4,
        EptpError::RootMisaligned { .. } | EptpError::RootOutOfRange { .. } => usize::MAX,
    }
}

/// Mostly plausible EPTPs (an address below MAXPHYADDR, any low 12 bits), sometimes a
/// stray high bit, sometimes pure noise.
fn eptp_value() -> impl Strategy<Value = (u64, u8)> {
    (32u8..=52).prop_flat_map(|maxphy| {
        let addr = (0..1u64 << (maxphy - 12)).prop_map(|frame| frame << 12);
        let plausible = (addr, 0..1u64 << 12).prop_map(|(a, low)| a | low);
        let value = prop_oneof![
            6 => plausible.clone(),
            2 => (plausible, 0..64u32).prop_map(|(v, bit)| v | (1u64 << bit)),
            1 => any::<u64>(),
        ];
        (value, Just(maxphy))
    })
}

proptest! {
    #[test]
    fn validate_eptp_is_the_sdm_rules(
        (value, maxphyaddr) in eptp_value(),
        (wb, uc, walk4, walk5, ad) in any::<(bool, bool, bool, bool, bool)>(),
    ) {
        let rules = EptpRules { wb, uc, walk4, walk5, ad, maxphyaddr, supervisor_shadow_stack: false };
        let got = validate_eptp(value, &rules).map_err(eptp_rule_of);
        let want = eptp_transcription(value, &rules).map_or(Ok(()), Err);
        prop_assert_eq!(got, want, "value {:#x} rules {:?}", value, rules);
    }
}
