//! The limits: at most 511 compartments, at most MAX_EXPORTS exports each.

use super::*;

#[test]
fn at_most_511_compartments() {
    let text = |n: usize| {
        let mut t = String::from("tessera-manifest 1\n");
        for name in names(n) {
            t.push_str(&format!("compartment {name}\n"));
        }
        t
    };
    assert_eq!(
        Manifest::parse(&text(MAX_COMPARTMENTS)).map(|m| m.compartments.len()),
        Ok(511)
    );
    let e = parse_err(&text(MAX_COMPARTMENTS + 1));
    assert_eq!((e.line, e.field.as_str()), (513, "compartment"));
}

#[test]
fn at_most_max_exports() {
    let text = |n: usize| {
        let exports: Vec<String> = (0..n).map(|i| format!("e{i}")).collect();
        format!(
            "tessera-manifest 1\ncompartment a exports={}\n",
            exports.join(",")
        )
    };
    let m = Manifest::parse(&text(MAX_EXPORTS)).expect("MAX_EXPORTS exports");
    assert_eq!(
        m.export_index(0, &format!("e{}", MAX_EXPORTS - 1)),
        Some(MAX_EXPORTS - 1)
    );
    assert!(
        parse_err(&text(MAX_EXPORTS + 1))
            .problem
            .contains("more than")
    );
    // Export names may be longer than compartment names (REGISTER_EXPORT takes 64 bytes).
    let e64 = "e".repeat(64);
    assert!(Manifest::parse(&format!("tessera-manifest 1\ncompartment a exports={e64}")).is_ok());
    let e65 = "e".repeat(65);
    assert!(Manifest::parse(&format!("tessera-manifest 1\ncompartment a exports={e65}")).is_err());
}
