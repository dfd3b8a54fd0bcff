//! Writing a manifest back as text (the canonical form `parse` reads).

use super::{
    Access, Concurrency, DEFAULT_CALL_BUFFER, DEFAULT_CONSOLE, DEFAULT_HEAP, DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_RESTARTS, DEFAULT_STACK, HypercallSet, Manifest, Restart, VERSION,
};
use alloc::string::String;
use core::fmt::Write;

pub(super) fn write(manifest: &Manifest) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail; the results are ignored for that reason.
    let _ = writeln!(out, "tessera-manifest {VERSION}");
    for c in &manifest.compartments {
        out.push_str("compartment ");
        out.push_str(&c.name);
        list(&mut out, "exports", c.exports.iter().map(String::as_str));
        list(&mut out, "calls", c.calls.iter().map(String::as_str));
        if c.hypercalls != HypercallSet::GRANTABLE {
            list(
                &mut out,
                "hypercalls",
                c.hypercalls.iter().filter_map(|h| h.manifest_name()),
            );
        }
        if c.stack != DEFAULT_STACK {
            let _ = write!(out, " stack={}", c.stack);
        }
        if c.heap != DEFAULT_HEAP {
            let _ = write!(out, " heap={}", c.heap);
        }
        // Written whenever present, even at the default: its presence bounds `main`.
        if let Some(ticks) = c.watchdog {
            let _ = write!(out, " watchdog={ticks}");
        }
        if c.max_depth != DEFAULT_MAX_DEPTH {
            let _ = write!(out, " max_depth={}", c.max_depth);
        }
        if c.console != DEFAULT_CONSOLE {
            let _ = write!(out, " console={}", c.console);
        }
        if c.call_buffer != DEFAULT_CALL_BUFFER {
            let _ = write!(out, " call_buffer={}", c.call_buffer);
        }
        if c.restart == Restart::OnFault {
            out.push_str(" restart=on-fault");
            if c.max_restarts != DEFAULT_MAX_RESTARTS {
                let _ = write!(out, " max_restarts={}", c.max_restarts);
            }
        }
        if c.concurrency == Concurrency::Parallel {
            out.push_str(" concurrency=parallel");
        }
        if c.cpu == super::EVERY_CPU {
            out.push_str(" cpu=all");
        } else if c.cpu != 0 {
            let _ = write!(out, " cpu={}", c.cpu);
        }
        out.push('\n');
    }
    for g in &manifest.grants {
        let _ = write!(out, "grant {} size={}", g.name, g.size);
        for (compartment, access) in &g.access {
            let access = match access {
                Access::Read => "r",
                Access::ReadWrite => "rw",
            };
            let _ = write!(out, " {compartment}={access}");
        }
        out.push('\n');
    }
    for d in &manifest.data {
        let _ = writeln!(out, "data {} compartment={}", d.name, d.compartment);
    }
    out
}

/// ` key=a,b,c`, or nothing for an empty list.
fn list<'a>(out: &mut String, key: &str, mut items: impl Iterator<Item = &'a str>) {
    let Some(first) = items.next() else {
        return;
    };
    let _ = write!(out, " {key}={first}");
    for item in items {
        out.push(',');
        out.push_str(item);
    }
}
