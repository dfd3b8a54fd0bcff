//! The VMFUNC model against a direct transcription of the SDM's pseudocode (Vol. 2B
//! "VMFUNC—Invoke VM function", Operation; EPTP validity from Vol. 3C "Checks on
//! VM-Execution Control Fields"), over random inputs.

use proptest::prelude::*;
use tessera_core::paging::EptpRules;
use tessera_core::paging::validate_eptp;
use tessera_core::vmfunc::{Inputs, Outcome, execute, execute_known};

/// Written from the SDM text, independently of `tessera_core::paging::validate_eptp`.
fn sdm_eptp_valid(e: u64, r: &EptpRules) -> bool {
    let memory_type = e & 7;
    let type_ok = (memory_type == 0 && r.uc) || (memory_type == 6 && r.wb);
    let walk = (e >> 3) & 7;
    let walk_ok = (walk == 3 && r.walk4) || (walk == 4 && r.walk5);
    let ad_ok = e & (1 << 6) == 0 || r.ad;
    let reserved_ok = (e >> 8) & 0xF == 0 && (e & (1 << 7) == 0 || r.supervisor_shadow_stack);
    let width_ok = r.maxphyaddr >= 64 || e >> r.maxphyaddr == 0;
    type_ok && walk_ok && ad_ok && reserved_ok && width_ok
}

/// SDM Operation: IF EAX > 63 or not enabled THEN #UD; IF control bit EAX = 0 THEN exit;
/// EPTP switching (function 0): IF ECX > 511 THEN exit; tent ← list[ECX]; IF tent not
/// valid THEN exit ELSE switch.
fn sdm(
    rax: u64,
    rcx: u64,
    enabled: bool,
    controls: u64,
    list: &[u64; 512],
    r: &EptpRules,
) -> Outcome {
    let eax = rax & 0xFFFF_FFFF;
    let ecx = rcx & 0xFFFF_FFFF;
    if eax > 63 || !enabled {
        return Outcome::Ud;
    }
    if (controls >> eax) & 1 == 0 || eax != 0 {
        return Outcome::Exit59;
    }
    if ecx > 511 {
        return Outcome::Exit59;
    }
    let tent = list[ecx as usize];
    if !sdm_eptp_valid(tent, r) {
        return Outcome::Exit59;
    }
    Outcome::Switch {
        eptp: tent,
        index: ecx as u16,
    }
}

fn eptp_like() -> impl Strategy<Value = u64> {
    prop_oneof![
        // Mostly plausible EPTPs with a few bits flipped, so both verdicts are common.
        (0u64..1 << 28, any::<u8>(), 0u64..8).prop_map(|(page, low, flip)| (page << 12)
            | u64::from(low & 0x7F)
            | ((flip & 1) << 45)),
        any::<u64>(),
        Just(0u64),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn model_matches_the_sdm(
        rax in prop_oneof![0u64..70, any::<u64>()],
        rcx in prop_oneof![0u64..520, any::<u64>()],
        enabled in any::<bool>(),
        controls in prop_oneof![Just(1u64), any::<u64>()],
        entries in proptest::collection::vec(eptp_like(), 8),
        wb in any::<bool>(), uc in any::<bool>(), walk5 in any::<bool>(), ad in any::<bool>(),
        sss in any::<bool>(),
        maxphyaddr in 36u8..=52,
    ) {
        let mut list = [0u64; 512];
        for (i, e) in entries.iter().enumerate() {
            list[i] = *e;
            list[511 - i] = e.rotate_left(7);
        }
        let rules = EptpRules { wb, uc, walk4: true, walk5, ad, maxphyaddr, supervisor_shadow_stack: sss };
        let model = execute(&Inputs { rax, rcx, enabled, controls, list: &list, current: list[0], rules, same_walk_length: false });
        prop_assert_eq!(model, sdm(rax, rcx, enabled, controls, &list, &rules));
    }

    /// The memo of an accepted entry changes no outcome: whatever value the caller knows
    /// valid (every entry of the list that is, and 0), the outcome is `execute`'s.
    #[test]
    fn a_known_valid_entry_gives_the_same_outcome(
        rax in prop_oneof![Just(0u64), 0u64..70],
        rcx in prop_oneof![0u64..10, Just(511u64), any::<u64>()],
        entries in proptest::collection::vec(eptp_like(), 8),
        known in 0usize..9,
        wb in any::<bool>(), uc in any::<bool>(), ad in any::<bool>(),
        maxphyaddr in 36u8..=52,
    ) {
        let mut list = [0u64; 512];
        list[..8].copy_from_slice(&entries);
        list[511] = entries[0];
        let rules = EptpRules { wb, uc, walk4: true, walk5: false, ad, maxphyaddr, supervisor_shadow_stack: false };
        let inputs = Inputs { rax, rcx, enabled: true, controls: 1, list: &list, current: list[0], rules, same_walk_length: false };
        let valid = list.get(known).copied().filter(|e| validate_eptp(*e, &rules).is_ok()).unwrap_or(0);
        prop_assert_eq!(execute_known(&inputs, valid), execute(&inputs));
    }
}

/// The emulated switch's fast path names exactly the bytes L1 wrote: the VMFUNC at the
/// start of each view's own slot, and nothing else.
#[test]
fn the_own_slot_fast_path_is_the_vmfunc_the_slot_page_holds() {
    use tessera_abi::gate::{SLOT_SIZE, SLOTS};
    use tessera_core::gate::{own_page, slot_page};
    use tessera_core::protocol::{own_slot, own_slot_vmfunc};
    for view in [0u64, 1, 2, 255, 256, 510] {
        let page = slot_page(own_page(view), Some(view), 0).expect("slot page");
        let at = (own_slot(view) - SLOTS) as usize % 4096;
        let len = own_slot_vmfunc(own_slot(view), view).expect("own slot");
        assert_eq!(&page[at..at + len as usize], &[0x0F, 0x01, 0xD4]);
        assert_eq!(own_slot_vmfunc(own_slot(view) + 1, view), None);
        assert_eq!(own_slot_vmfunc(own_slot(view) + SLOT_SIZE, view), None);
        assert_eq!(own_slot_vmfunc(own_slot(view), view + 1), None);
    }
}

/// A valid EPTP on the usual CPU: write-back, 4-level walk.
fn wb4() -> impl Strategy<Value = u64> {
    (1u64..1 << 24).prop_map(|page| (page << 12) | 0x6 | (3 << 3))
}

/// The memo as the engine keeps it: each slot holds 0 or an entry the checks accepted
/// (`execute_known` stores only the entry of a `Switch`), which may since have been
/// replaced in the list (a view restarted on other tables).
fn memo(list: &[u64; 512], stale: &[u64], rules: &EptpRules, keep: &[bool]) -> [u64; 512] {
    let mut accepted = [0u64; 512];
    for (i, e) in list.iter().enumerate().take(keep.len()) {
        let candidate = if i < stale.len() && i % 3 == 2 {
            stale[i]
        } else {
            *e
        };
        if keep[i] && validate_eptp(candidate, rules).is_ok() {
            accepted[i] = candidate;
        }
    }
    accepted
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    /// The fast path of the emulated switch (`tessera_core::vmfunc::fast_switch`) makes a
    /// switch only where the general path makes the same one: the own-slot rule holds
    /// and the model's outcome is that `Switch` (and the memo is what the general path
    /// would store again). And it takes the common case: own slot, EAX = 0, a slot whose
    /// current entry the memo holds, nothing to clear, the watchdog untrapped.
    #[test]
    fn the_fast_path_switches_only_as_the_general_path_does(
        rax in prop_oneof![3 => Just(0u64), 1 => Just(1u64 << 32), 1 => 0u64..70, 1 => any::<u64>()],
        rcx in prop_oneof![4 => 0u64..10, 1 => Just(511u64), 1 => Just(512u64), 1 => Just((1u64 << 32) | 1), 1 => any::<u64>()],
        entries in proptest::collection::vec(prop_oneof![eptp_like(), wb4()], 8),
        stale in proptest::collection::vec(prop_oneof![eptp_like(), wb4()], 8),
        keep in proptest::collection::vec(prop_oneof![3 => Just(true), 1 => Just(false)], 8),
        view in 0u64..8,
        rip_at_slot in prop_oneof![3 => Just(true), 1 => Just(false)],
        rip_other in any::<u64>(),
        shadow in prop_oneof![3 => Just(false), 1 => Just(true)],
        rflags in prop_oneof![2 => Just(0x202u64), 1 => Just(0x302u64), 1 => any::<u64>()],
        untrapped in prop_oneof![3 => Just(true), 1 => Just(false)],
        wb in any::<bool>(), uc in any::<bool>(), ad in any::<bool>(),
        maxphyaddr in 36u8..=52,
    ) {
        use tessera_core::protocol::{emulated_switch_allowed, own_slot};
        use tessera_core::vmfunc::{Fast, fast_switch};
        let mut list = [0u64; 512];
        list[..8].copy_from_slice(&entries);
        list[511] = entries[0];
        let rules = EptpRules { wb, uc, walk4: true, walk5: false, ad, maxphyaddr, supervisor_shadow_stack: false };
        let accepted = memo(&list, &stale, &rules, &keep);
        let rip = if rip_at_slot { own_slot(view) } else { rip_other };
        let fast = Fast { rip, view, rax, rcx, list: &list, accepted: &accepted, shadow, rflags, untrapped };
        let inputs = Inputs { rax, rcx, enabled: true, controls: 1, list: &list, current: list[view as usize], rules, same_walk_length: false };
        let slot = rcx as u32 as usize;
        let general = execute_known(&inputs, accepted.get(slot).copied().unwrap_or(0));
        match fast_switch(&fast) {
            Some((index, eptp)) => {
                prop_assert!(emulated_switch_allowed(rip, view, false));
                prop_assert_eq!(general, Outcome::Switch { eptp, index });
                prop_assert_eq!(execute(&inputs), Outcome::Switch { eptp, index });
                prop_assert_eq!(accepted[usize::from(index)], eptp);
                prop_assert!(untrapped && !shadow && rflags & 0x100 == 0);
            }
            None => {
                let common = untrapped && !shadow && rflags & 0x100 == 0
                    && rip == own_slot(view) && rax as u32 == 0 && slot < 512
                    && list[slot] != 0 && accepted[slot] == list[slot];
                prop_assert!(!common, "the common case went the general way");
            }
        }
    }
}
