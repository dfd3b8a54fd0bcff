//! The report as people read it: the table `cargo xtask bench` prints (engine, CPU
//! model and switch mode in its title; one row per benchmark; what was not measured and
//! why), and the words shared with the plot and the result file.

use super::report::{Entry, Report};
use super::suite::{BootKind, ITERATIONS, RESTART_ITERATIONS, RESTART_PAGES};
use crate::engine::Engine;
use crate::qemu::Clock;
use std::fmt::Write as _;

/// `exits / iterations` for people: `0`, `1`, `2`, `0.0003`.
pub fn ratio_text(exits: u64, iterations: u64) -> String {
    if iterations == 0 {
        return "?".into();
    }
    if exits % iterations == 0 {
        return (exits / iterations).to_string();
    }
    let text = format!("{:.4}", exits as f64 / iterations as f64);
    text.trim_end_matches('0').to_owned()
}

/// What a TSC tick is on `engine` (with `clock` if it is TCG).
pub fn ticks_meaning(engine: &Engine, clock: Clock) -> &'static str {
    match engine {
        Engine::Bochs { .. } => {
            "TSC ticks = instructions executed (Bochs, clock: sync=none), L1's included when the timed code exits"
        }
        Engine::Qemu { .. } | Engine::Uefi { .. } => match clock {
            Clock::Host => {
                "TSC ticks under QEMU TCG on host time follow the host clock, not the emulated work: not a time, compare only exits"
            }
            Clock::Instructions => {
                "TSC ticks = 8 per instruction executed (QEMU TCG, -icount shift=3: ticks / 8 = instructions), L1's included when the timed code exits"
            }
        },
        Engine::Kvm { .. } => "TSC ticks = CPU reference cycles (real hardware, nested under KVM)",
        Engine::NestedKvm { .. } => {
            "TSC ticks = instructions executed by the whole Bochs machine (Linux/KVM in L0, Tessera in L1, the compartments)"
        }
    }
}

/// One row: id, benchmark, views, min, median, p99, max, exits/iter.
fn row(out: &mut String, cells: [&str; 8]) {
    let [id, title, views, min, median, p99, max, exits] = cells;
    let _ = writeln!(
        out,
        "{id:<7} {title:<52} {views:>5} {min:>8} {median:>8} {p99:>8} {max:>8} {exits:>10}"
    );
}

/// The row of one entry (dashes where it was not measured).
fn entry_row(out: &mut String, e: &Entry) {
    let b = &e.benchmark;
    let views = b.views.unwrap_or(b.boot.views()).to_string();
    let title = match (&e.mode, b.boot) {
        (Some(mode), BootKind::Emulated) => format!("{} [{mode}]", b.title),
        _ => b.title.clone(),
    };
    match &e.result {
        Ok(l) => {
            let (x, n) = l.exits_per_iter();
            let [min, median, p99, max] = [l.min, l.median, l.p99, l.max].map(|v| v.to_string());
            let exits = ratio_text(x, n);
            row(
                out,
                [&b.id, &title, &views, &min, &median, &p99, &max, &exits],
            );
        }
        Err(_) => row(out, [&b.id, &title, &views, "-", "-", "-", "-", "-"]),
    }
}

impl Report {
    /// What a TSC tick is in this report.
    pub fn ticks_meaning(&self) -> &'static str {
        ticks_meaning(&self.engine, self.clock)
    }

    /// What a restart costs per dirty page: the slope of the median between the first
    /// and the last `r` benchmark, next to `e` (a VMCALL round trip), when all three were
    /// measured.
    pub fn per_dirty_page(&self) -> Option<String> {
        let median = |id: &str| {
            let e = self.entries.iter().find(|e| e.benchmark.id == id)?;
            e.result.as_ref().ok().map(|l| l.median)
        };
        let (first, last) = (RESTART_PAGES[0], RESTART_PAGES[RESTART_PAGES.len() - 1]);
        let (r0, rn, e) = (
            median(&format!("r{first}"))?,
            median(&format!("r{last}"))?,
            median("e")?,
        );
        // Signed: rewriting a dirty page can cost less than checking a clean one.
        let per_page = (rn as i64 - r0 as i64) / (last - first) as i64;
        Some(format!(
            "r: a restart costs {r0} ticks (median of r{first}) + {per_page} per dirty page (r{last}); e = {e}: {:.1} e + {:.2} e per page",
            r0 as f64 / e.max(1) as f64,
            per_page as f64 / e.max(1) as f64
        ))
    }

    /// The table, titled with engine, CPU model and switch mode.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Tessera switch latency: engine {}, CPU {}{}, switch mode {}",
            self.engine.name(),
            self.engine.cpu(),
            self.clock_text(),
            self.mode
        );
        let _ = writeln!(
            out,
            "per iteration, {ITERATIONS} iterations each, timed in batches of 16 ({RESTART_ITERATIONS} for r, timed one by one), timer overhead subtracted; {}",
            self.ticks_meaning()
        );
        let header = [
            "id",
            "benchmark",
            "views",
            "min",
            "median",
            "p99",
            "max",
            "exits/iter",
        ];
        row(&mut out, header);
        for e in &self.entries {
            entry_row(&mut out, e);
        }
        if let Some(line) = self.per_dirty_page() {
            let _ = writeln!(out, "{line}");
        }
        let missing: Vec<(&str, &String)> = self
            .entries
            .iter()
            .filter_map(|e| Some((e.benchmark.id.as_str(), e.result.as_ref().err()?)))
            .collect();
        if !missing.is_empty() {
            let _ = writeln!(out, "not measured:");
            for (id, why) in missing {
                let _ = writeln!(out, "  {id}: {why}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::fixtures::qemu_report;

    /// The table of [`qemu_report`], as `cargo xtask bench` printed it before the
    /// benchmark code was split by concern, but for QEMU's clock: the title names it, and
    /// its ticks became instructions with its instruction clock.
    const QEMU_TABLE: &str = "\
Tessera switch latency: engine qemu, CPU qemu64,+svm,+npt, clock icount, switch mode hardware
per iteration, 10000 iterations each, timed in batches of 16 (100 for r, timed one by one), timer overhead subtracted; TSC ticks = 8 per instruction executed (QEMU TCG, -icount shift=3: ticks / 8 = instructions), L1's included when the timed code exits
id      benchmark                                            views      min   median      p99      max exits/iter
a       plain function call (baseline)                           2       10       12       15       90          0
b       bare VMFUNC pair A->B->A                                 1       10       12       15       90          0
c0      gate round trip, 0 args                                  2       10       12       15       90          0
c2      gate round trip, 2 args                                  2       10       12       15       90          0
c6      gate round trip, 6 args                                  2       10       12       15       90          0
c0-raw  gate round trip, 0 args, gate only (no SDK)              2       10       12       15       90          0
d       gate round trip, callee sums 4 KiB grant                 2       10       12       15       90          0
e       VMCALL null hypercall (EXIT_COUNT)                       2       10       12       15       90          1
f       emulated gate round trip, 0 args [emulated]              2       10       12       15       90          2
g2      gate round trip, round-robin, 2 views                    2       10       12       15       90          0
g16     gate round trip, round-robin, 16 views                  16        -        -        -        -          -
h       hypervisor-mediated switch round trip (SWITCH_VIEW)      1       10       12       15       90          2
r0      restart after a fault, 0 heap pages dirty                2       10       12       15       90          1
r64     restart after a fault, 64 heap pages dirty               2       10       12       15       90          1
r256    restart after a fault, 256 heap pages dirty              2       10       12       15       90          1
r: a restart costs 12 ticks (median of r0) + 0 per dirty page (r256); e = 12: 1.0 e + 0.00 e per page
not measured:
  g16: boot views-16 failed: no \"modules\"
";

    #[test]
    fn the_table_of_a_fixed_report() {
        assert_eq!(qemu_report().table(), QEMU_TABLE);
    }

    #[test]
    fn qemu_ticks_say_which_clock_they_follow() {
        let mut report = qemu_report();
        assert!(report.ticks_meaning().contains("8 per instruction"));
        report.clock = Clock::Host;
        let table = report.table();
        assert!(table.starts_with("Tessera switch latency: engine qemu, CPU qemu64,+svm,+npt, clock host, switch mode hardware\n"), "{table}");
        assert!(table.contains("TSC ticks under QEMU TCG on host time follow the host clock"));
    }

    #[test]
    fn ratios_are_exact_where_they_can_be() {
        assert_eq!(ratio_text(0, 10_000), "0");
        assert_eq!(ratio_text(20_000, 10_000), "2");
        assert_eq!(ratio_text(3, 10_000), "0.0003");
        assert_eq!(ratio_text(1, 3), "0.3333");
        assert_eq!(ratio_text(1, 0), "?");
    }
}
