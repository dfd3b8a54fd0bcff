//! The benchmark plot, written by hand as SVG (no plotting dependency in the build tool):
//! one horizontal bar per measured benchmark of a [`Report`] at its median, a whisker
//! from min to p99, on a logarithmic axis of TSC ticks per iteration.

use super::report::Report;
use super::table::ratio_text;
use std::fmt::Write as _;

/// One bar.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub label: String,
    pub min: u64,
    pub median: u64,
    pub p99: u64,
    /// Shown after the value, e.g. `0 exits`.
    pub note: String,
}

const WIDTH: f64 = 1000.0;
const LABEL_WIDTH: f64 = 400.0;
const PLOT_WIDTH: f64 = 440.0;
const ROW: f64 = 24.0;
const TOP: f64 = 70.0;
const BOTTOM: f64 = 40.0;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The horizontal axis: decades from 1 up to the first power of ten at or above the
/// largest value, [`PLOT_WIDTH`] wide from [`LABEL_WIDTH`].
struct Axis {
    decades: u32,
}

impl Axis {
    fn for_bars(bars: &[Bar]) -> Axis {
        let top_value = bars.iter().map(|b| b.p99.max(b.median)).max().unwrap_or(1);
        let mut decades = 1u32;
        while 10f64.powi(decades as i32) < top_value as f64 {
            decades += 1;
        }
        Axis { decades }
    }

    /// Where value `v` lies (values below 1 at 1).
    fn x(&self, v: u64) -> f64 {
        LABEL_WIDTH + PLOT_WIDTH * (v.max(1) as f64).log10() / f64::from(self.decades)
    }

    /// A grid line and its label per decade, and the axis title, under `bottom`.
    fn write(&self, s: &mut String, bottom: f64) {
        let x0 = LABEL_WIDTH;
        for d in 0..=self.decades {
            let gx = x0 + PLOT_WIDTH * f64::from(d) / f64::from(self.decades);
            let _ = writeln!(
                s,
                r##"<line x1="{gx:.1}" y1="{}" x2="{gx:.1}" y2="{bottom}" stroke="#ddd"/>"##,
                TOP - 6.0
            );
            let _ = writeln!(
                s,
                r##"<text x="{gx:.1}" y="{}" text-anchor="middle" fill="#444">{}</text>"##,
                bottom + 16.0,
                10u64.pow(d)
            );
        }
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{}" text-anchor="middle" fill="#444">TSC ticks per iteration (log scale): bar = median, whisker = min to p99</text>"##,
            x0 + PLOT_WIDTH / 2.0,
            bottom + 34.0
        );
    }
}

/// Row `i`: the label, the bar to the median, the whisker from min to p99, the value.
fn write_bar(s: &mut String, axis: &Axis, i: usize, bar: &Bar) {
    let x0 = LABEL_WIDTH;
    let y = TOP + ROW * i as f64;
    let mid = y + ROW / 2.0;
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
        x0 - 8.0,
        mid + 4.0,
        escape(&bar.label)
    );
    let _ = writeln!(
        s,
        r##"<rect x="{x0}" y="{:.1}" width="{:.1}" height="{:.1}" fill="#4a7ebb"/>"##,
        y + 4.0,
        axis.x(bar.median) - x0,
        ROW - 8.0
    );
    let _ = writeln!(
        s,
        r##"<line x1="{:.1}" y1="{mid:.1}" x2="{:.1}" y2="{mid:.1}" stroke="#222" stroke-width="1.5"/>"##,
        axis.x(bar.min),
        axis.x(bar.p99)
    );
    for end in [bar.min, bar.p99] {
        let _ = writeln!(
            s,
            r##"<line x1="{ex:.1}" y1="{:.1}" x2="{ex:.1}" y2="{:.1}" stroke="#222" stroke-width="1.5"/>"##,
            mid - 5.0,
            mid + 5.0,
            ex = axis.x(end)
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}">{} {}</text>"#,
        x0 + PLOT_WIDTH + 10.0,
        mid + 4.0,
        bar.median,
        escape(&bar.note)
    );
}

/// The SVG document for `bars` under `title` and `subtitle`.
pub fn chart(title: &str, subtitle: &str, bars: &[Bar]) -> String {
    let axis = Axis::for_bars(bars);
    let height = TOP + ROW * bars.len() as f64 + BOTTOM;
    let bottom = TOP + ROW * bars.len() as f64;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="13">"#
    );
    let _ = writeln!(
        s,
        r#"<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="white"/>"#
    );
    let _ = writeln!(
        s,
        r#"<text x="10" y="24" font-size="17" font-weight="bold">{}</text>"#,
        escape(title)
    );
    let _ = writeln!(
        s,
        r##"<text x="10" y="44" fill="#444">{}</text>"##,
        escape(subtitle)
    );
    axis.write(&mut s, bottom);
    for (i, bar) in bars.iter().enumerate() {
        write_bar(&mut s, &axis, i, bar);
    }
    s.push_str("</svg>\n");
    s
}

impl Report {
    /// The plot of a report: one bar per measured benchmark.
    pub fn svg(&self) -> String {
        let bars: Vec<Bar> = self
            .entries
            .iter()
            .filter_map(|e| {
                let l = e.result.as_ref().ok()?;
                let (x, n) = l.exits_per_iter();
                Some(Bar {
                    label: format!("{} {}", e.benchmark.id, e.benchmark.title),
                    min: l.min,
                    median: l.median,
                    p99: l.p99,
                    note: format!("({} exits/iter)", ratio_text(x, n)),
                })
            })
            .collect();
        chart(
            &format!(
                "Tessera switch latency: {} {}{}, switch {}",
                self.engine.name(),
                self.engine.cpu(),
                self.clock_text(),
                self.mode
            ),
            self.ticks_meaning(),
            &bars,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bar_per_benchmark_escaped_and_on_a_decade_axis() {
        let bars = [
            Bar {
                label: "plain call".into(),
                min: 5,
                median: 5,
                p99: 6,
                note: "0 exits".into(),
            },
            Bar {
                label: "a<b & \"c\"".into(),
                min: 0,
                median: 2400,
                p99: 2600,
                note: "1 exit".into(),
            },
        ];
        let svg = chart("bochs tigerlake", "hardware", &bars);
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches(r##"fill="#4a7ebb""##).count(), 2);
        assert!(svg.contains("a&lt;b &amp; &quot;c&quot;"));
        assert!(svg.contains(">10000</text>") && !svg.contains(">100000</text>"));
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
        let empty = chart("t", "s", &[]);
        assert!(empty.contains("</svg>"));
    }
}
