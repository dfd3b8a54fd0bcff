//! Property tests of [`HypercallSet`] against a model, a `BTreeSet` of hypercalls: every
//! operation agrees with the model, iteration is in number order and rebuilds the set,
//! and `allows` follows each hypercall's policy.

use proptest::prelude::*;
use std::collections::BTreeSet;
use tessera_abi::hypercall::{Hypercall, HypercallSet, Policy};

fn calls() -> impl Strategy<Value = BTreeSet<Hypercall>> {
    proptest::sample::subsequence(Hypercall::ALL.to_vec(), 0..=Hypercall::ALL.len())
        .prop_map(|v| v.into_iter().collect())
}

fn call() -> impl Strategy<Value = Hypercall> {
    proptest::sample::select(Hypercall::ALL.to_vec())
}

fn set(model: &BTreeSet<Hypercall>) -> HypercallSet {
    model.iter().copied().collect()
}

fn model(set: HypercallSet) -> BTreeSet<Hypercall> {
    set.iter().collect()
}

proptest! {
    #[test]
    fn a_set_is_its_members(a in calls()) {
        let s = set(&a);
        prop_assert_eq!(model(s), a.clone());
        prop_assert_eq!(s.len(), a.len());
        prop_assert_eq!(s.is_empty(), a.is_empty());
        let order: Vec<Hypercall> = s.iter().collect();
        prop_assert!(order.windows(2).all(|w| w[0].number() < w[1].number()));
        for h in Hypercall::ALL {
            prop_assert_eq!(s.contains(h), a.contains(&h));
        }
        prop_assert!(s.is_subset(HypercallSet::ALL));
        let mut extended = HypercallSet::EMPTY;
        extended.extend(s.iter());
        prop_assert_eq!(extended, s);
    }

    #[test]
    fn operations_agree_with_the_model(a in calls(), b in calls(), h in call()) {
        let (sa, sb) = (set(&a), set(&b));
        prop_assert_eq!(model(sa.union(sb)), a.union(&b).copied().collect());
        prop_assert_eq!(model(sa.intersection(sb)), a.intersection(&b).copied().collect());
        prop_assert_eq!(model(sa.difference(sb)), a.difference(&b).copied().collect());
        prop_assert_eq!(sa.is_subset(sb), a.is_subset(&b));
        prop_assert_eq!(sa == sb, a == b);
        let mut with = a.clone();
        with.insert(h);
        prop_assert_eq!(model(sa.with(h)), with);
        let mut without = a.clone();
        without.remove(&h);
        prop_assert_eq!(model(sa.without(h)), without);
        prop_assert!(sa.with(h).contains(h) && !sa.without(h).contains(h));
    }

    #[test]
    fn allows_follows_the_policy(a in calls(), h in call()) {
        let expected = match h.policy() {
            Policy::Always => true,
            Policy::Fixture => false,
            Policy::Manifest => a.contains(&h),
        };
        prop_assert_eq!(set(&a).allows(h), expected);
    }
}
