//! What the benchmarks are: the suite (one [`Benchmark`] per id of docs/benchmarks.md),
//! the boots that produce their `@@BENCH` lines, each boot's kernel command line, and
//! the VM exits each benchmark must cost.

use crate::commands::SwitchMode;

/// View counts of the scaling benchmark (g) unless `--views` says otherwise.
pub const DEFAULT_VIEWS: [usize; 4] = [2, 16, 128, 511];
/// Most views a manifest may have (512 EPTP-list entries, one kept spare).
pub const MAX_VIEWS: usize = 511;
/// Iterations every benchmark compartment times (`bench_kit::ITERATIONS`) but `r`.
pub const ITERATIONS: u64 = 10_000;
/// Iterations of each restart benchmark (`r`: compartments/bench-restart).
pub const RESTART_ITERATIONS: u64 = 100;
/// Heap pages the restart benchmarks dirty, one benchmark each (`rN`).
pub const RESTART_PAGES: [u64; 3] = [0, 64, 256];

/// Which boot a benchmark comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BootKind {
    /// The gates declaration as written (2 views).
    Gates,
    /// `bench-vmfunc` in the VMFUNC fixture.
    Fixture,
    /// The gates declaration with `switch=emulate`.
    Emulated,
    /// The gates declaration scaled to this many views.
    Scaling(usize),
    /// The restart declaration (benchmark r).
    Restart,
}

impl BootKind {
    /// `gates`, `fixture`, `emulated`, `views-N`.
    pub fn id(&self) -> String {
        match self {
            BootKind::Gates => "gates".into(),
            BootKind::Fixture => "fixture".into(),
            BootKind::Emulated => "emulated".into(),
            BootKind::Scaling(n) => format!("views-{n}"),
            BootKind::Restart => "restart".into(),
        }
    }

    /// How many views (compartments) the boot has.
    pub fn views(&self) -> usize {
        match self {
            BootKind::Scaling(n) => *n,
            BootKind::Fixture => 1,
            BootKind::Gates | BootKind::Emulated | BootKind::Restart => 2,
        }
    }

    /// The boot that actually produces this kind's lines: with every boot emulated
    /// already (`--switch emulate`), the gates boot is the emulated one.
    pub fn booted_as(self, switch: Option<SwitchMode>) -> BootKind {
        match self {
            BootKind::Emulated if switch == Some(SwitchMode::Emulate) => BootKind::Gates,
            other => other,
        }
    }

    /// The kernel command line of this boot.
    pub fn kernel_args(self, switch: Option<SwitchMode>) -> String {
        let mut words: Vec<&str> = Vec::new();
        if self == BootKind::Fixture {
            words.push("conformance=1");
        }
        match (self, switch) {
            (BootKind::Emulated, _) => words.push(switch_arg(SwitchMode::Emulate)),
            (_, Some(mode)) => words.push(switch_arg(mode)),
            (_, None) => {}
        }
        words.join(" ")
    }
}

fn switch_arg(mode: SwitchMode) -> &'static str {
    match mode {
        SwitchMode::Auto => "switch=auto",
        SwitchMode::Hardware => "switch=hardware",
        SwitchMode::Emulate => "switch=emulate",
    }
}

/// One benchmark of the suite: where its `@@BENCH` line comes from and what it costs
/// in VM exits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Benchmark {
    /// Short id (`a`, `c0`, `g128`, ...), the key in result files.
    pub id: String,
    /// What it measures.
    pub title: String,
    pub boot: BootKind,
    /// The `name` member of its `@@BENCH` line.
    pub name: &'static str,
    /// `views` member it must carry (scaling runs), if any.
    pub views: Option<usize>,
    /// VM exits per iteration that are not view switches (hypercalls).
    pub hypercall_exits: u64,
    /// View switches per iteration (each one VM exit when emulated, none in hardware).
    pub switches: u64,
    /// Timed iterations its line must report.
    pub iterations: u64,
}

impl Benchmark {
    /// VM exits one iteration must cost: `emulated` is whether its boot emulated VMFUNC.
    pub fn expected_exits(&self, emulated: bool) -> u64 {
        self.hypercall_exits + if emulated { self.switches } else { 0 }
    }
}

/// One row of [`FIXED`]: id, title, boot, `@@BENCH` name, hypercall exits, switches.
type Row = (&'static str, &'static str, BootKind, &'static str, u64, u64);

/// The benchmarks that do not depend on `--views`, in table order; the scaling
/// benchmark (g) goes between f and h.
const FIXED: [Row; 10] = [
    (
        "a",
        "plain function call (baseline)",
        BootKind::Gates,
        "call",
        0,
        0,
    ),
    (
        "b",
        "bare VMFUNC pair A->B->A",
        BootKind::Fixture,
        "vmfunc-pair",
        0,
        2,
    ),
    (
        "c0",
        "gate round trip, 0 args",
        BootKind::Gates,
        "gate-0",
        0,
        2,
    ),
    (
        "c2",
        "gate round trip, 2 args",
        BootKind::Gates,
        "gate-2",
        0,
        2,
    ),
    (
        "c6",
        "gate round trip, 6 args",
        BootKind::Gates,
        "gate-6",
        0,
        2,
    ),
    (
        "c0-raw",
        "gate round trip, 0 args, gate only (no SDK)",
        BootKind::Gates,
        "gate-raw",
        0,
        2,
    ),
    (
        "d",
        "gate round trip, callee sums 4 KiB grant",
        BootKind::Gates,
        "gate-4k",
        0,
        2,
    ),
    (
        "e",
        "VMCALL null hypercall (EXIT_COUNT)",
        BootKind::Gates,
        "vmcall",
        1,
        0,
    ),
    (
        "f",
        "emulated gate round trip, 0 args",
        BootKind::Emulated,
        "gate-0",
        0,
        2,
    ),
    (
        "h",
        "hypervisor-mediated switch round trip (SWITCH_VIEW)",
        BootKind::Fixture,
        "switch-view",
        2,
        0,
    ),
];

fn benchmark(&(id, title, boot, name, hypercall_exits, switches): &Row) -> Benchmark {
    Benchmark {
        id: id.into(),
        title: title.into(),
        boot,
        name,
        views: None,
        hypercall_exits,
        switches,
        iterations: ITERATIONS,
    }
}

/// Benchmark `rN`: a gate call into a compartment that dirties `pages` heap pages and
/// faults (one VM exit, the fault; one switch, the call: the hypervisor resumes the
/// caller itself), and the restart before the call returns.
fn restart(pages: u64) -> Benchmark {
    let name: &'static str = match pages {
        0 => "restart-0",
        64 => "restart-64",
        _ => "restart-256",
    };
    Benchmark {
        id: format!("r{pages}"),
        title: format!("restart after a fault, {pages} heap pages dirty"),
        boot: BootKind::Restart,
        name,
        views: None,
        hypercall_exits: 1,
        switches: 1,
        iterations: RESTART_ITERATIONS,
    }
}

/// The suite in table order, with the scaling benchmark at each of `views`.
pub fn suite(views: &[usize]) -> Vec<Benchmark> {
    let (before_h, h) = FIXED.split_at(FIXED.len() - 1);
    let mut all: Vec<Benchmark> = before_h.iter().map(benchmark).collect();
    all.extend(views.iter().map(|&n| Benchmark {
        id: format!("g{n}"),
        title: format!("gate round trip, round-robin, {n} views"),
        boot: if n == 2 {
            BootKind::Gates
        } else {
            BootKind::Scaling(n)
        },
        name: "gate-rr",
        views: Some(n),
        hypercall_exits: 0,
        switches: 2,
        iterations: ITERATIONS,
    }));
    all.extend(h.iter().map(benchmark));
    all.extend(RESTART_PAGES.iter().map(|&n| restart(n)));
    all
}

/// The boots `suite` needs, in the order they are started (largest first, so a
/// parallel run ends sooner).
pub fn boots_needed(suite: &[Benchmark], switch: Option<SwitchMode>) -> Vec<BootKind> {
    let mut kinds: Vec<BootKind> = Vec::new();
    for b in suite {
        let kind = b.boot.booted_as(switch);
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    kinds.sort_by_key(|k| std::cmp::Reverse(k.views()));
    kinds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_suite_has_every_benchmark_of_the_issue() {
        let ids: Vec<String> = suite(&DEFAULT_VIEWS).into_iter().map(|s| s.id).collect();
        assert_eq!(
            ids,
            [
                "a", "b", "c0", "c2", "c6", "c0-raw", "d", "e", "f", "g2", "g16", "g128", "g511",
                "h", "r0", "r64", "r256"
            ]
        );
        let kinds = boots_needed(&suite(&DEFAULT_VIEWS), None);
        assert_eq!(
            kinds,
            [
                BootKind::Scaling(511),
                BootKind::Scaling(128),
                BootKind::Scaling(16),
                BootKind::Gates,
                BootKind::Emulated,
                BootKind::Restart,
                BootKind::Fixture
            ]
        );
        let emulate_all = boots_needed(&suite(&[2]), Some(SwitchMode::Emulate));
        assert_eq!(
            emulate_all,
            [BootKind::Gates, BootKind::Restart, BootKind::Fixture]
        );
        assert_eq!(BootKind::Fixture.kernel_args(None), "conformance=1");
        // Only the fixture boot needs the kernel with the fixture compiled in.
        use crate::kernel::Flavour;
        for switch in [None, Some(SwitchMode::Emulate), Some(SwitchMode::Hardware)] {
            let flavour = |kind: BootKind| Flavour::for_args(&kind.kernel_args(switch));
            assert_eq!(flavour(BootKind::Fixture), Flavour::Fixture);
            for kind in [BootKind::Gates, BootKind::Emulated, BootKind::Scaling(16)] {
                assert_eq!(flavour(kind), Flavour::Hypervisor);
            }
        }
        assert_eq!(
            BootKind::Emulated.kernel_args(Some(SwitchMode::Hardware)),
            "switch=emulate"
        );
        assert_eq!(
            BootKind::Scaling(16).kernel_args(Some(SwitchMode::Hardware)),
            "switch=hardware"
        );
    }

    #[test]
    fn emulated_runs_expect_one_exit_per_switch() {
        let suite = suite(&[2]);
        let b = |id: &str| suite.iter().find(|s| s.id == id).unwrap().clone();
        assert_eq!(b("c0").expected_exits(false), 0);
        assert_eq!(b("c0").expected_exits(true), 2);
        assert_eq!(b("f").expected_exits(true), 2);
        assert_eq!(b("b").expected_exits(true), 2);
        assert_eq!(b("e").expected_exits(true), 1);
        assert_eq!(b("h").expected_exits(false), 2);
        assert_eq!(b("g2").boot, BootKind::Gates);
        assert_eq!(b("r64").expected_exits(false), 1);
        assert_eq!(b("r64").expected_exits(true), 2);
        assert_eq!((b("r64").name, b("r64").iterations), ("restart-64", 100));
        assert_eq!(b("g2").views, Some(2));
    }
}
