//! `cargo xtask bench --smp 1,2,4`: round trips with N vCPUs calling at once
//! (docs/benchmarks.md "SMP"). Each count is one boot of `examples/pingpong` on N CPUs:
//! ping's `main` runs on every vCPU (`cpu = "all"`) against one `parallel` pong, and each
//! vCPU reports its own `@@ROUNDTRIPS compartment=ping cpu=K n=N exits=E ticks=T` (T:
//! TSC ticks of its timed loop). The table gives, per vCPU, exits and ticks per round
//! trip. On Bochs a CPU's TSC advances with the instructions it retires, so ticks are
//! that vCPU's own instructions per round trip, whatever the others do (Bochs models no
//! contention between CPUs: measured, 488.5 per round trip with 1, 2 and 4 vCPUs). QEMU
//! TCG with `-icount` runs the vCPUs in turn on one virtual clock, 8 ticks per
//! instruction of any vCPU: with N vCPUs a round trip's ticks are about N times its own
//! instructions. On KVM they are time.

use crate::engine::Engine;
use crate::examples::Plan as Declared;
use crate::image::Image;
use crate::runner::{self, BootSpec, Echo};
use crate::tools::{self, Install};
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::time::Duration;

/// The declaration every boot runs.
pub const PINGPONG: &str = "examples/pingpong";

/// One vCPU's round trips in a boot with `vcpus` vCPUs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub vcpus: u32,
    pub cpu: u32,
    pub n: u64,
    pub exits: u64,
    pub ticks: u64,
    /// Watchdog expiries in the whole boot (`@@STATS exits.watchdog=`, summed): the most
    /// of `exits` that are not the round trips' own (a period may end in a timed loop).
    pub watchdog: u64,
}

impl Row {
    /// Exits per round trip.
    pub fn exits_per_trip(&self) -> f64 {
        self.exits as f64 / self.n.max(1) as f64
    }

    /// Ticks per round trip.
    pub fn ticks_per_trip(&self) -> f64 {
        self.ticks as f64 / self.n.max(1) as f64
    }
}

/// Boots pingpong once per count in `counts` on `engine` and returns every vCPU's row,
/// by count then vCPU. A boot that fails, or that lacks a vCPU's line, is an error
/// naming it.
pub fn measure(engine: &Engine, counts: &[u32], timeout: Duration) -> Result<Vec<Row>> {
    if let Some(bad) = counts.iter().find(|&&n| !(1..=16).contains(&n)) {
        bail!("--smp: {bad} is not from 1 to 16 vCPUs");
    }
    tools::ensure(&tools::for_engine(engine), Install::IfRoot)?;
    let modules = Declared::for_dir(Path::new(PINGPONG))?.build()?;
    let kernel = crate::kernel::build()?;
    let mut rows = Vec::new();
    for &vcpus in counts {
        eprintln!("boot pingpong with {vcpus} vCPU(s) on {}…", engine.label());
        let mut image = Image {
            modules: modules.clone(),
            ..Image::new(kernel.elf32.clone(), "")
        };
        image.cpus = vcpus;
        let spec = BootSpec {
            engine: engine.clone(),
            image,
            timeout,
            echo: Echo::Quiet,
        };
        let outcome = runner::boot(&spec)
            .with_context(|| format!("booting pingpong with {vcpus} vCPU(s)"))?;
        if !outcome.passed() {
            bail!(
                "pingpong with {vcpus} vCPU(s) failed\n{}",
                outcome.failure_report()
            );
        }
        let watchdog = outcome
            .transcript
            .records("STATS")
            .filter_map(|r| r.get("exits.watchdog")?.parse::<u64>().ok())
            .sum();
        let mut these = rows_of(vcpus, outcome.transcript.records("ROUNDTRIPS"))?;
        for r in &mut these {
            r.watchdog = watchdog;
        }
        rows.extend(these);
    }
    Ok(rows)
}

/// The rows of one boot with `vcpus` vCPUs: one per vCPU, in vCPU order.
pub fn rows_of<'a>(
    vcpus: u32,
    records: impl Iterator<Item = &'a crate::transcript::Record>,
) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for r in records {
        let field = |key: &str| -> Result<u64> {
            r.get(key)
                .with_context(|| format!("a ROUNDTRIPS line without {key}="))?
                .parse()
                .with_context(|| format!("ROUNDTRIPS {key}= is not a number"))
        };
        if r.get("compartment") != Some("ping") {
            continue;
        }
        // One vCPU: no `cpu=` (one-vCPU transcripts stay as they were).
        let cpu = if vcpus == 1 { 0 } else { field("cpu")? as u32 };
        rows.push(Row {
            vcpus,
            cpu,
            n: field("n")?,
            exits: field("exits")?,
            ticks: field("ticks")?,
            watchdog: 0,
        });
    }
    rows.sort_by_key(|r| r.cpu);
    let cpus: Vec<u32> = rows.iter().map(|r| r.cpu).collect();
    if cpus != (0..vcpus).collect::<Vec<_>>() {
        bail!("with {vcpus} vCPU(s) the ROUNDTRIPS lines name vCPUs {cpus:?}");
    }
    Ok(rows)
}

/// The table, titled with the engine and CPU model that produced it.
pub fn table(engine: &Engine, rows: &[Row]) -> String {
    let unit = match (engine, crate::qemu::Clock::from_env().unwrap_or_default()) {
        (Engine::Bochs { .. }, _) => "instructions that vCPU retired (Bochs' TSC)",
        (Engine::Qemu { .. } | Engine::Uefi { .. }, crate::qemu::Clock::Instructions) => {
            "QEMU's virtual clock (-icount shift=3): 8 per instruction of ANY vCPU; the \
             vCPUs run in turn, so with N vCPUs about N times one vCPU's own"
        }
        _ => "TSC ticks of the host's time",
    };
    let mut out = format!(
        "pingpong round trips, every vCPU calling one parallel pong at once — {} ({})\n\
         ticks: {unit}\n\n\
         | vCPUs | vCPU | round trips | exits/round trip | ticks/round trip |\n\
         |---:|---:|---:|---:|---:|\n",
        engine.label(),
        engine.cpu()
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {:.2} | {:.0} |\n",
            r.vcpus,
            r.cpu,
            r.n,
            r.exits_per_trip(),
            r.ticks_per_trip()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::Transcript;

    #[test]
    fn rows_are_read_per_vcpu_and_a_missing_vcpu_is_an_error() {
        let t = Transcript::parse(
            "@@ROUNDTRIPS compartment=ping cpu=1 n=10 exits=20 ticks=500\n\
             @@ROUNDTRIPS compartment=other cpu=0 n=1 exits=0 ticks=1\n\
             @@ROUNDTRIPS compartment=ping cpu=0 n=10 exits=21 ticks=400\n",
        );
        let rows = rows_of(2, t.records("ROUNDTRIPS")).unwrap();
        assert_eq!(rows.iter().map(|r| r.cpu).collect::<Vec<_>>(), [0, 1]);
        assert_eq!(
            (rows[0].exits_per_trip(), rows[1].ticks_per_trip()),
            (2.1, 50.0)
        );
        let e = rows_of(3, t.records("ROUNDTRIPS")).unwrap_err();
        assert!(e.to_string().contains("name vCPUs [0, 1]"), "{e}");
        // One vCPU: no cpu= on the line.
        let one = Transcript::parse("@@ROUNDTRIPS compartment=ping n=10 exits=0 ticks=9\n");
        assert_eq!(rows_of(1, one.records("ROUNDTRIPS")).unwrap()[0].cpu, 0);
        let bad = Transcript::parse("@@ROUNDTRIPS compartment=ping n=10 exits=0\n");
        assert!(rows_of(1, bad.records("ROUNDTRIPS")).is_err());
    }
}
