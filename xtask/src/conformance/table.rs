//! The conformance table: every row on every configuration against the SDM's outcome
//! for that configuration's rules. A cell is `ok`, `DEVIATES` (the engine's documented
//! deviation, listed under the table with its source) or `MISMATCH` (listed with what
//! was seen and what the SDM gives). A configuration that failed counts every row.

use super::deviations;
use super::oracle::{Assume, expect};
use super::rows::Row;
use super::{Config, Results};
use anyhow::Result;
use std::collections::BTreeMap;

/// What a run of the suite came to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    pub rows: usize,
    pub configs: usize,
    pub mismatches: usize,
    /// Cells marked "engine deviates from SDM".
    pub deviations: usize,
}

/// One cell and, unless it is `ok`, the note under the table.
fn cell(
    config: &Config,
    row: &Row,
    rules: &super::Rules,
    seen: Option<&String>,
) -> (&'static str, Option<String>) {
    let want = expect(row, rules, Assume::default()).to_string();
    let Some(seen) = seen else {
        return (
            "MISMATCH",
            Some(format!("{}: no outcome (want `{want}`)", row.name)),
        );
    };
    if *seen == want {
        return ("ok", None);
    }
    for d in deviations::of(config)
        .into_iter()
        .filter(|d| (d.applies)(row))
    {
        if *seen == expect(row, rules, d.assume).to_string() {
            let note = format!(
                "{}: engine deviates from SDM ({}): `{seen}`, SDM `{want}`; {}",
                row.name, d.name, d.source
            );
            return ("DEVIATES", Some(note));
        }
    }
    (
        "MISMATCH",
        Some(format!(
            "{}: `{seen}`, SDM `{want}` ({})",
            row.name, row.source
        )),
    )
}

/// The table of `outcomes` (one per configuration, in order) over `rows`.
pub fn table(
    configs: &[Config],
    rows: &[Row],
    outcomes: Vec<Result<Results>>,
) -> (String, Figures) {
    let mut figures = Figures {
        rows: rows.len(),
        configs: configs.len(),
        ..Figures::default()
    };
    let mut cells = vec![vec!["-"; configs.len()]; rows.len()];
    let mut notes = Vec::new();
    let mut expected: Vec<Option<String>> = vec![None; rows.len()];
    let mut rules_seen = Vec::new();
    for (i, outcome) in outcomes.into_iter().enumerate() {
        let config = &configs[i];
        let (rules, seen) = match outcome {
            Ok(r) => r,
            Err(e) => {
                notes.push(format!("{}: failed: {e:#}", config.label));
                figures.mismatches += rows.len();
                continue;
            }
        };
        rules_seen.push(format!("rules {}: {rules:?}", config.label));
        let seen: BTreeMap<usize, String> = seen.into_iter().collect();
        for (r, row) in rows.iter().enumerate() {
            expected[r].get_or_insert_with(|| expect(row, &rules, Assume::default()).to_string());
            let (word, note) = cell(config, row, &rules, seen.get(&r));
            match word {
                "MISMATCH" => figures.mismatches += 1,
                "DEVIATES" => figures.deviations += 1,
                _ => {}
            }
            cells[r][i] = word;
            if let Some(note) = note {
                notes.push(format!("{}: {note}", config.label));
            }
        }
    }
    let name_width = rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4) + 1;
    let want_width = expected
        .iter()
        .flatten()
        .map(String::len)
        .max()
        .unwrap_or(8)
        + 1;
    let mut out = format!(
        "{:<name_width$}{:<want_width$}",
        "row", "SDM (first configuration's rules)"
    );
    for i in 1..=configs.len() {
        out.push_str(&format!("{:<9}", format!("[{i}]")));
    }
    out.push('\n');
    for (r, row) in rows.iter().enumerate() {
        let want = expected[r].as_deref().unwrap_or("?");
        out.push_str(&format!("{:<name_width$}{want:<want_width$}", row.name));
        for c in &cells[r] {
            out.push_str(&format!("{c:<9}"));
        }
        out.push('\n');
    }
    for (i, c) in configs.iter().enumerate() {
        out.push_str(&format!("[{}] {}\n", i + 1, c.label));
    }
    for r in rules_seen {
        out.push_str(&format!("{r}\n"));
    }
    for n in &notes {
        out.push_str(&format!("{n}\n"));
    }
    out.push_str(&format!(
        "conformance: {} rows x {} configurations, {} mismatches, {} marked engine deviations from the SDM\n",
        figures.rows, figures.configs, figures.mismatches, figures.deviations
    ));
    (out, figures)
}

#[cfg(test)]
mod tests {
    use super::super::rows::parse;
    use super::*;

    fn rules() -> super::super::Rules {
        super::super::Rules {
            ad: true,
            wb: true,
            maxphyaddr: 40,
            ept: true,
            ..Default::default()
        }
    }

    #[test]
    fn the_table_counts_mismatches_deviations_and_failures() {
        let configs = super::super::configs_for(Some("nested-kvm"));
        assert_eq!(configs.len(), 2);
        assert!(configs[0].bochs_vmfunc && !configs[1].bochs_vmfunc);
        assert!(configs.iter().all(|c| c.under_kvm));
        let rows = parse("switch\ntf-exit59 rcx=512 flags=tf\n", "t").expect("rows");
        let good = vec![
            (0, "switch rip=+0x803 view=1 index=-".to_owned()),
            (1, "exit59 rip=+0x803 view=0 index=-".to_owned()),
        ];
        let (text, f) = table(
            &configs,
            &rows,
            vec![Ok((rules(), good.clone())), Ok((rules(), good.clone()))],
        );
        assert_eq!(
            (f.mismatches, f.deviations, f.rows, f.configs),
            (0, 0, 2, 2),
            "{text}"
        );
        // The Bochs deviation, where Bochs' VMFUNC runs: marked, not hidden.
        let deviant = vec![
            good[0].clone(),
            (1, "exit59+db rip=+0x803 view=0 index=-".to_owned()),
        ];
        let (text, f) = table(
            &configs,
            &rows,
            vec![Ok((rules(), deviant.clone())), Ok((rules(), deviant))],
        );
        assert_eq!((f.mismatches, f.deviations), (1, 1), "{text}");
        assert!(
            text.contains("engine deviates from SDM (pending single-step #DB survives exit 59)"),
            "{text}"
        );
        assert!(
            text.contains("tf-exit59: `exit59+db rip=+0x803 view=0 index=-`, SDM `exit59"),
            "{text}"
        );
        // A missing row and a failed configuration.
        let (_, f) = table(
            &configs,
            &rows,
            vec![
                Ok((rules(), vec![good[0].clone()])),
                Err(anyhow::anyhow!("boot failed")),
            ],
        );
        assert_eq!(f.mismatches, 1 + 2);
    }
}
