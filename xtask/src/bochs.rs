//! Bochs 2.7 (Debian's build): configuration, command and log reading.
//!
//! Debian's Bochs has no `nogui` display and has the internal debugger compiled in, so a
//! headless run needs `display_library: rfb` with `timeout=0` (binds a VNC port from 5900
//! up, waits for nobody) and a debugger command file `continue`/`quit`. The guest ends
//! the run with the magic breakpoint `xchg bx,bx` (exit status 0) or by writing
//! `Shutdown` to port 0x8900 (exit status 1).

use std::path::Path;
use std::process::Command;

/// The debugger command file: run, and quit at the magic breakpoint.
pub const DEBUGGER_RC: &str = "continue\nquit\n";
/// Guest memory. 256 MiB boots in about a second; 2048 MiB takes about 9.5 s.
pub const MEGS: u32 = 256;

/// The bochsrc for booting `iso` on CPU model `cpu`, with COM1 and the log in `run_dir`.
pub fn bochsrc(cpu: &str, iso: &Path, run_dir: &Path) -> String {
    bochsrc_sized(cpu, iso, run_dir, MEGS)
}

/// [`bochsrc`] for a machine with `count` CPUs (Bochs' `cpu: count=N`; the Debian build
/// is configured with SMP support).
pub fn bochsrc_smp(cpu: &str, iso: &Path, run_dir: &Path, count: u32) -> String {
    bochsrc(cpu, iso, run_dir).replace("count=1,", &format!("count={},", count.max(1)))
}

/// [`bochsrc`] with `megs` MiB of guest memory.
pub fn bochsrc_sized(cpu: &str, iso: &Path, run_dir: &Path, megs: u32) -> String {
    let iso = iso.display();
    let dir = run_dir.display();
    format!(
        "\
megs: {megs}
cpu: model={cpu}, count=1, ips=100000000, reset_on_triple_fault=0
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
display_library: rfb, options=\"timeout=0\"
ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14
ata0-master: type=cdrom, path={iso}, status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev={dir}/com1.txt
port_e9_hack: enabled=1
magic_break: enabled=1
speaker: enabled=0
sound: driver=dummy
log: {dir}/bochs.log
panic: action=fatal
error: action=report
info: action=report
debug: action=ignore
clock: sync=none, time0=local
"
    )
}

/// `bochs -q -f <bochsrc> -rc <dbg.rc>`; the caller redirects stdin and output.
pub fn command(bochsrc: &Path, debugger_rc: &Path) -> Command {
    let mut command = Command::new("bochs");
    command
        .arg("-q")
        .arg("-f")
        .arg(bochsrc)
        .arg("-rc")
        .arg(debugger_rc);
    command
}

/// The log lines that explain a failed boot: errors and panics (`e[`/`p[` levels), and
/// VM-entry failures, invalid-state reports and exceptions at any level.
pub fn log_highlights(log: &str) -> Vec<&str> {
    const KEYWORDS: [&str; 7] = [
        "vmenter",
        "vmfail",
        "invalid",
        "panic",
        "exception",
        "triple",
        "hlt instruction with if=0",
    ];
    log.lines()
        .filter(|line| {
            let level = line.split('[').next().and_then(|head| head.chars().last());
            let lower = line.to_ascii_lowercase();
            matches!(level, Some('e' | 'p')) || KEYWORDS.iter().any(|k| lower.contains(k))
        })
        .collect()
}

/// Bochs' rfb display logged that it listens on a VNC port.
pub fn vnc_listening(log: &str) -> bool {
    log.contains("listening for connections on port")
}

/// Bochs' rfb display gave up: no VNC port could be bound. It tries 5900..=5949 with one
/// socket, so after losing a bind/listen race on one port it fails on all of them.
pub fn vnc_bind_failed(log: &str) -> bool {
    log.contains("RFB could not bind any port")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smp_sets_the_cpu_count() {
        let rc = bochsrc_smp("tigerlake", Path::new("/r/t.iso"), Path::new("/r"), 2);
        assert!(rc.contains("cpu: model=tigerlake, count=2, ips="), "{rc}");
        let one = bochsrc_smp("tigerlake", Path::new("/r/t.iso"), Path::new("/r"), 1);
        assert_eq!(
            one,
            bochsrc("tigerlake", Path::new("/r/t.iso"), Path::new("/r"))
        );
    }

    #[test]
    fn bochsrc_runs_headless_from_the_iso() {
        let rc = bochsrc("ryzen", Path::new("/r/tessera.iso"), Path::new("/r"));
        for line in [
            "megs: 256\n",
            "cpu: model=ryzen, count=1, ips=100000000, reset_on_triple_fault=0\n",
            "display_library: rfb, options=\"timeout=0\"\n",
            "ata0-master: type=cdrom, path=/r/tessera.iso, status=inserted\n",
            "boot: cdrom\n",
            "com1: enabled=1, mode=file, dev=/r/com1.txt\n",
            "magic_break: enabled=1\n",
            "log: /r/bochs.log\n",
            "clock: sync=none, time0=local\n",
        ] {
            assert!(rc.contains(line), "missing {line:?} in\n{rc}");
        }
    }

    #[test]
    fn highlights_entry_failures_and_panics() {
        let log = "\
00000000000i[CPU0  ] CPU is in protected mode (active)
00412345678e[CPU0  ] VMENTER FAIL: VMCS guest incorrect TR type
00412345679i[CPU0  ] VMFAIL: VMCS link pointer incorrect revision ID
00412345680p[CPU0  ] >>PANIC<< exception(): 3rd (13) exception with no resolution
00412345681i[CPU0  ] interrupt(): gate descriptor is not valid sys seg
00412345682i[SIM   ] quit_sim called with exit code 1
";
        let lines = log_highlights(log);
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert!(lines[0].contains("VMENTER FAIL"));
        assert!(lines[1].contains("VMFAIL"));
        assert!(lines[2].contains(">>PANIC<<"));
    }
}
