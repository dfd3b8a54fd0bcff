//! `cargo xtask bench --compare A.json B.json`: two result files side by side, per
//! benchmark id the medians and mins of both with B/A, and the exits per iteration of
//! both.

use super::result_file::{MeasuredBenchmark, ResultFile};
use super::table::ratio_text;
use std::fmt::Write as _;

/// `engine cpu switch mode` of a file.
fn describe(file: &ResultFile) -> String {
    format!("{} {} switch {}", file.engine, file.cpu, file.switch)
}

/// `y / x` to two decimals; `-` when either is missing or only `x` is 0.
fn ratio(x: Option<u64>, y: Option<u64>) -> String {
    match (x, y) {
        (Some(x), Some(y)) if x > 0 => format!("{:.2}", y as f64 / x as f64),
        (Some(0), Some(0)) => "1.00".into(),
        _ => "-".into(),
    }
}

fn show(v: Option<u64>) -> String {
    v.map_or("-".into(), |v| v.to_string())
}

fn exits(b: Option<&MeasuredBenchmark>) -> String {
    b.map_or("-".into(), |b| {
        ratio_text(b.exits_per_iter.0, b.exits_per_iter.1)
    })
}

/// One row: id, benchmark, median A/B and ratio, min A/B and ratio, exits A/B.
fn row(out: &mut String, cells: [&str; 10]) {
    let [
        id,
        title,
        median_a,
        median_b,
        median_ratio,
        min_a,
        min_b,
        min_ratio,
        exits_a,
        exits_b,
    ] = cells;
    let _ = writeln!(
        out,
        "{id:<7} {title:<52} {median_a:>9} {median_b:>9} {median_ratio:>7} {min_a:>8} {min_b:>8} {min_ratio:>7} {exits_a:>8} {exits_b:>8}"
    );
}

/// The ids of both files: A's in order, then those only B has.
fn ids(a: &ResultFile, b: &ResultFile) -> Vec<String> {
    let mut ids: Vec<String> = a.benchmarks.iter().map(|m| m.id.clone()).collect();
    for m in &b.benchmarks {
        if !ids.contains(&m.id) {
            ids.push(m.id.clone());
        }
    }
    ids
}

/// The per-benchmark comparison of two result files: B/A of median and min.
pub fn compare(a: &ResultFile, b: &ResultFile, a_name: &str, b_name: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "A = {a_name}: {}", describe(a));
    let _ = writeln!(out, "B = {b_name}: {}", describe(b));
    if a.ticks_meaning != b.ticks_meaning {
        // Bochs against QEMU's instruction clock, or either against host time.
        let _ = writeln!(
            out,
            "ticks differ in meaning (A: {}; B: {}): B/A compares different units",
            a.ticks_meaning, b.ticks_meaning
        );
    }
    let header = [
        "id",
        "benchmark",
        "median A",
        "median B",
        "B/A",
        "min A",
        "min B",
        "B/A",
        "exits A",
        "exits B",
    ];
    row(&mut out, header);
    for id in ids(a, b) {
        let find = |f: &'_ ResultFile| f.benchmarks.iter().find(|m| m.id == id).cloned();
        let (ma, mb) = (find(a), find(b));
        let title = ma.as_ref().or(mb.as_ref()).map_or("", |m| m.title.as_str());
        let median = |m: &Option<MeasuredBenchmark>| m.as_ref().map(|m| m.median);
        let min = |m: &Option<MeasuredBenchmark>| m.as_ref().map(|m| m.min);
        row(
            &mut out,
            [
                &id,
                title,
                &show(median(&ma)),
                &show(median(&mb)),
                &ratio(median(&ma), median(&mb)),
                &show(min(&ma)),
                &show(min(&mb)),
                &ratio(min(&ma), min(&mb)),
                &exits(ma.as_ref()),
                &exits(mb.as_ref()),
            ],
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::fixtures::qemu_report;

    #[test]
    fn a_file_against_itself_is_all_ones() {
        let a = ResultFile::from_report(&qemu_report());
        let same = compare(&a, &a, "a.json", "b.json");
        assert_eq!(same.lines().count(), 3 + a.benchmarks.len());
        assert!(same.lines().skip(3).all(|l| l.contains(" 1.00 ")), "{same}");
        assert!(same.starts_with("A = a.json: qemu qemu64,+svm,+npt switch hardware\n"));
    }

    #[test]
    fn ticks_of_different_meanings_are_flagged() {
        let a = ResultFile::from_report(&qemu_report());
        let mut host = qemu_report();
        host.clock = crate::qemu::Clock::Host;
        let b = ResultFile::from_report(&host);
        let text = compare(&a, &b, "a.json", "b.json");
        let note = text.lines().nth(2).unwrap_or_default();
        assert!(
            note.starts_with("ticks differ in meaning (A: TSC ticks = 8 per instruction")
                && note.contains("B: TSC ticks under QEMU TCG on host time"),
            "{text}"
        );
        assert_eq!(text.lines().count(), 4 + a.benchmarks.len());
    }

    #[test]
    fn ratios_missing_rows_and_rows_only_b_has() {
        let a = ResultFile::from_report(&qemu_report());
        let mut b = a.clone();
        b.benchmarks.remove(0);
        b.benchmarks[0].median = 30;
        let mut extra = b.benchmarks[0].clone();
        extra.id = "z".into();
        extra.min = 0;
        b.benchmarks.push(extra);
        let text = compare(&a, &b, "a.json", "b.json");
        let line = |id: &str| {
            let found = text.lines().find(|l| l.starts_with(&format!("{id} ")));
            found
                .unwrap_or_else(|| panic!("no row {id}:\n{text}"))
                .to_owned()
        };
        assert_eq!(
            line("a"),
            "a       plain function call (baseline)                              12         -       -       10        -       -        0        -"
        );
        assert_eq!(
            line("b"),
            "b       bare VMFUNC pair A->B->A                                    12        30    2.50       10       10    1.00        0        0"
        );
        assert!(line("z").contains("        -        30       -"), "{text}");
        assert_eq!(ratio(Some(0), Some(5)), "-");
        assert_eq!(ratio(Some(0), Some(0)), "1.00");
    }
}
