//! A VMX backend reads only the exit-information fields `fields_needed` names: the
//! decoded exit must be the same whatever the others hold.

use proptest::prelude::*;
use tessera_core::exit::VmExit;
use tessera_core::vmx::exit::{ExitFields, RawExit, decode, fields_needed, is_invalid_opcode};

/// `raw` with every field `fields_needed` does not name zeroed, as a backend that
/// skipped its VMREAD leaves it.
fn only_needed(raw: &RawExit) -> RawExit {
    let needed = fields_needed(raw.reason);
    let keep = |field, value| if needed.contains(field) { value } else { 0 };
    RawExit {
        reason: raw.reason,
        qualification: keep(ExitFields::QUALIFICATION, raw.qualification),
        interruption_info: keep(ExitFields::INTERRUPTION, raw.interruption_info.into()) as u32,
        interruption_error: keep(ExitFields::INTERRUPTION, raw.interruption_error.into()) as u32,
        instruction_len: keep(ExitFields::INSTRUCTION_LEN, raw.instruction_len),
        guest_physical: keep(ExitFields::GUEST_PHYSICAL, raw.guest_physical),
        rcx: raw.rcx,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn decoding_needs_no_other_field(
        basic in 0u32..70,
        entry_failure in any::<bool>(),
        qualification in any::<u64>(),
        interruption_info in any::<u32>(),
        interruption_error in any::<u32>(),
        instruction_len in any::<u64>(),
        guest_physical in any::<u64>(),
        rcx in any::<u64>(),
    ) {
        let raw = RawExit {
            reason: basic | if entry_failure { 1 << 31 } else { 0 },
            qualification,
            interruption_info,
            interruption_error,
            instruction_len,
            guest_physical,
            rcx,
        };
        prop_assert_eq!(decode(&raw), decode(&only_needed(&raw)));
    }

    /// The backend's shortcut for a #UD decides from the reason and the interruption
    /// information exactly what `decode` decides from every field.
    #[test]
    fn the_invalid_opcode_shortcut_agrees_with_decode(
        reason in prop_oneof![Just(0u32), Just(1 << 31), Just(1 << 27), 0u32..70, any::<u32>()],
        info in prop_oneof![
            any::<u32>(),
            (0u32..8, any::<bool>(), any::<bool>()).prop_map(|(kind, error, valid)| {
                6 | kind << 8 | u32::from(error) << 11 | u32::from(valid) << 31
            }),
        ],
        error in any::<u32>(),
    ) {
        let raw = RawExit {
            reason,
            interruption_info: info,
            interruption_error: error,
            ..RawExit::default()
        };
        let ud = VmExit::Exception { vector: 6, error_code: None };
        prop_assert_eq!(is_invalid_opcode(reason, info), decode(&raw) == ud);
    }
}
