//! The text format of docs/manifest.md, read line by line; references (`calls=`, grant
//! access) are resolved once every compartment is known, so they may point forward.
//!
//! Every check that could grow with the input is bounded: lists stop at the most entries
//! a valid manifest can have, and name lookups go through ordered maps, so a hostile
//! manifest costs time proportional to its length (times a logarithm) at boot.

use super::data::{self, DataDecl};
use super::error::shown;
use super::fields::{
    bytes, check_name, compartment_name, count, err, key_value, known_hypercalls, list, placement,
};
use super::{
    Access, CompartmentDecl, GrantDecl, HypercallSet, MAX_CALL_BUFFER, MAX_COMPARTMENTS,
    MAX_CONSOLE, MAX_EXPORT_NAME_LEN, MAX_EXPORTS, MAX_GRANT_SIZE, MAX_HEAP, MAX_MAX_DEPTH,
    MAX_MAX_RESTARTS, MAX_NAME_LEN, MAX_STACK, MAX_WATCHDOG, MIN_CALL_BUFFER, MIN_HEAP, MIN_STACK,
    MIN_WATCHDOG, Manifest, ManifestError, PAGE_SIZE, Restart, VERSION,
};
use super::{Concurrency, EVERY_CPU};
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use tessera_abi::hypercall::Hypercall;

type Result<T> = core::result::Result<T, ManifestError>;

#[derive(Default)]
struct Parser {
    compartments: Vec<CompartmentDecl>,
    /// Compartment name → (view, line).
    views: BTreeMap<String, (usize, usize)>,
    grants: Vec<(GrantDecl, usize)>,
    data: Vec<(DataDecl, usize)>,
    /// Grant name → line.
    grant_lines: BTreeMap<String, usize>,
}

pub(super) fn parse(text: &str) -> Result<Manifest> {
    let mut parser = Parser::default();
    let mut header = false;
    for (index, raw) in text.split('\n').enumerate() {
        let line = index + 1;
        let content = raw.split('#').next().unwrap_or_default();
        let mut words = content.split_ascii_whitespace();
        let Some(directive) = words.next() else {
            continue;
        };
        if !header {
            check_header(line, directive, words)?;
            header = true;
            continue;
        }
        match directive {
            "compartment" => parser.compartment(line, words)?,
            "grant" => parser.grant(line, words)?,
            "data" => {
                let decl = data::parse(line, words, &parser.data)?;
                parser.data.push((decl, line));
            }
            "tessera-manifest" => {
                return Err(err(
                    line,
                    directive,
                    "must appear once, as the first directive",
                ));
            }
            other => {
                let problem = format!(
                    "unknown directive '{}' (expected compartment, grant or data)",
                    shown(other)
                );
                return Err(err(line, other, problem));
            }
        }
    }
    if !header {
        return Err(err(
            0,
            "tessera-manifest",
            format!("empty: the first directive must be `tessera-manifest {VERSION}`"),
        ));
    }
    if parser.compartments.is_empty() {
        return Err(err(0, "compartment", "declares no compartment"));
    }
    parser.resolve()
}

pub(super) fn implicit(names: &[String]) -> Result<Manifest> {
    if names.is_empty() {
        return Err(err(0, "compartment", "no module, so no compartment"));
    }
    if names.len() > MAX_COMPARTMENTS {
        let problem = format!(
            "{} modules: more than {MAX_COMPARTMENTS} compartments",
            names.len()
        );
        return Err(err(0, "compartment", problem));
    }
    let mut seen = BTreeMap::new();
    for (module, name) in names.iter().enumerate() {
        compartment_name(name).map_err(|p| err(0, "name", format!("module {module}: {p}")))?;
        if let Some(first) = seen.insert(name.as_str(), module) {
            let problem = format!(
                "module {module}: name '{}' is also module {first}'s",
                shown(name)
            );
            return Err(err(0, "name", problem));
        }
    }
    Ok(Manifest {
        compartments: names.iter().map(CompartmentDecl::new).collect(),
        grants: Vec::new(),
        data: Vec::new(),
    })
}

/// One `key=value` of a `compartment` line (the line's own name is `decl.name`).
fn field(decl: &mut CompartmentDecl, line: usize, (key, value): (&str, &str)) -> Result<()> {
    match key {
        "exports" => {
            decl.exports = list(line, key, value, MAX_EXPORTS, |e| {
                check_name(e, MAX_EXPORT_NAME_LEN)
            })?;
        }
        "calls" => {
            decl.calls = list(line, key, value, MAX_COMPARTMENTS - 1, compartment_name)?;
            if decl.calls.contains(&decl.name) {
                return Err(err(line, key, "a compartment cannot call itself"));
            }
        }
        "hypercalls" => decl.hypercalls = hypercall_set(line, key, value)?,
        "stack" => decl.stack = bytes(line, key, value, MIN_STACK, MAX_STACK)?,
        "heap" => decl.heap = bytes(line, key, value, MIN_HEAP, MAX_HEAP)?,
        "call_buffer" => {
            decl.call_buffer = bytes(line, key, value, MIN_CALL_BUFFER, MAX_CALL_BUFFER)?;
        }
        "watchdog" => {
            let range = (MIN_WATCHDOG, MAX_WATCHDOG);
            decl.watchdog = Some(count(line, key, value, range, "ticks")?);
        }
        "max_depth" => {
            let range = (1, u64::from(MAX_MAX_DEPTH));
            let depth = count(line, key, value, range, "activations")?;
            // In range, so it fits.
            decl.max_depth = u32::try_from(depth).unwrap_or(MAX_MAX_DEPTH);
        }
        "console" => decl.console = count(line, key, value, (0, MAX_CONSOLE), "bytes")?,
        "restart" | "max_restarts" => lifecycle(decl, line, (key, value))?,
        "concurrency" | "cpu" => placement(decl, line, (key, value))?,
        _ => {
            return Err(err(
                line,
                key,
                "unknown field (expected exports, calls, hypercalls, stack, heap, \
                 watchdog, max_depth, console, call_buffer, restart, max_restarts, \
                 concurrency or cpu)",
            ));
        }
    }
    Ok(())
}

/// `restart=` and `max_restarts=`.
fn lifecycle(decl: &mut CompartmentDecl, line: usize, (key, value): (&str, &str)) -> Result<()> {
    if key == "restart" {
        decl.restart = match value {
            "never" => Restart::Never,
            "on-fault" => Restart::OnFault,
            other => {
                let problem = format!("'{}' is not never or on-fault", shown(other));
                return Err(err(line, key, problem));
            }
        };
    } else {
        let n = count(
            line,
            key,
            value,
            (0, u64::from(MAX_MAX_RESTARTS)),
            "restarts",
        )?;
        // In range, so it fits.
        decl.max_restarts = u32::try_from(n).unwrap_or(MAX_MAX_RESTARTS);
    }
    Ok(())
}

fn check_header<'a>(
    line: usize,
    directive: &str,
    mut words: impl Iterator<Item = &'a str>,
) -> Result<()> {
    let field = "tessera-manifest";
    if directive != field {
        return Err(err(
            line,
            field,
            format!(
                "the first directive must be `tessera-manifest {VERSION}`, not '{}'",
                shown(directive)
            ),
        ));
    }
    match (words.next(), words.next()) {
        (Some(v), None) if v == VERSION.to_string() => Ok(()),
        (Some(v), None) => Err(err(
            line,
            field,
            format!(
                "version '{}' is not supported (this hypervisor reads version {VERSION})",
                shown(v)
            ),
        )),
        (None, _) => Err(err(line, field, "missing the version")),
        (Some(_), Some(extra)) => Err(err(
            line,
            field,
            format!("unexpected '{}' after the version", shown(extra)),
        )),
    }
}

impl Parser {
    fn compartment<'a>(
        &mut self,
        line: usize,
        mut words: impl Iterator<Item = &'a str>,
    ) -> Result<()> {
        let name = words
            .next()
            .ok_or_else(|| err(line, "name", "missing the compartment's name"))?;
        compartment_name(name).map_err(|p| err(line, "name", p))?;
        if let Some((_, first)) = self.views.get(name) {
            return Err(err(
                line,
                "name",
                format!("compartment '{name}' is already declared on line {first}"),
            ));
        }
        if self.compartments.len() >= MAX_COMPARTMENTS {
            let problem = format!(
                "more than {MAX_COMPARTMENTS} compartments (the EPTP list has 512 entries; one is kept spare)"
            );
            return Err(err(line, "compartment", problem));
        }
        let mut decl = CompartmentDecl::new(name);
        let mut seen: Vec<&str> = Vec::new();
        for word in words {
            let (key, value) = key_value(line, word)?;
            if seen.contains(&key) {
                return Err(err(line, key, "given twice"));
            }
            seen.push(key);
            field(&mut decl, line, (key, value))?;
        }
        if decl.cpu == EVERY_CPU && decl.concurrency == Concurrency::Serial {
            return Err(err(
                line,
                "cpu",
                "cpu=all needs concurrency=parallel (its main runs on every vCPU at once)",
            ));
        }
        if seen.contains(&"max_restarts") && decl.restart == Restart::Never {
            return Err(err(
                line,
                "max_restarts",
                "needs restart=on-fault (a compartment that is never restarted has no limit)",
            ));
        }
        self.views
            .insert(decl.name.clone(), (self.compartments.len(), line));
        self.compartments.push(decl);
        Ok(())
    }

    fn grant<'a>(&mut self, line: usize, mut words: impl Iterator<Item = &'a str>) -> Result<()> {
        let name = words
            .next()
            .ok_or_else(|| err(line, "name", "missing the grant's name"))?;
        check_name(name, MAX_NAME_LEN).map_err(|p| err(line, "name", p))?;
        if let Some(first) = self.grant_lines.get(name) {
            return Err(err(
                line,
                "name",
                format!("grant '{name}' is already declared on line {first}"),
            ));
        }
        let mut size = None;
        let mut access: Vec<(String, Access)> = Vec::new();
        for word in words {
            let (key, value) = key_value(line, word)?;
            if key == "size" {
                if size.is_some() {
                    return Err(err(line, key, "given twice"));
                }
                size = Some(bytes(line, key, value, PAGE_SIZE, MAX_GRANT_SIZE)?);
                continue;
            }
            compartment_name(key)
                .map_err(|p| err(line, key, format!("neither `size` nor a compartment: {p}")))?;
            let mode = match value {
                "r" => Access::Read,
                "rw" => Access::ReadWrite,
                other => {
                    return Err(err(
                        line,
                        key,
                        format!("access must be r or rw, not '{}'", shown(other)),
                    ));
                }
            };
            if access.iter().any(|(c, _)| c == key) {
                return Err(err(line, key, "given twice"));
            }
            if access.len() >= MAX_COMPARTMENTS {
                return Err(err(
                    line,
                    key,
                    format!("more than {MAX_COMPARTMENTS} compartments"),
                ));
            }
            access.push((key.into(), mode));
        }
        let size = size.ok_or_else(|| err(line, "size", "missing size=BYTES"))?;
        if access.is_empty() {
            return Err(err(
                line,
                "grant",
                "names no compartment (add COMPARTMENT=r or COMPARTMENT=rw)",
            ));
        }
        self.grant_lines.insert(name.into(), line);
        self.grants.push((
            GrantDecl {
                name: name.into(),
                size,
                access,
            },
            line,
        ));
        Ok(())
    }

    /// Checks that every `calls=` entry and every grant's compartment exists.
    fn resolve(self) -> Result<Manifest> {
        let missing = |name: &str| format!("compartment '{name}' does not exist");
        for decl in &self.compartments {
            let line = self.views.get(&decl.name).map_or(0, |(_, line)| *line);
            if let Some(callee) = decl.calls.iter().find(|c| !self.views.contains_key(*c)) {
                return Err(err(line, "calls", missing(callee)));
            }
        }
        for (grant, line) in &self.grants {
            if let Some((c, _)) = grant
                .access
                .iter()
                .find(|(c, _)| !self.views.contains_key(c))
            {
                return Err(err(*line, c, missing(c)));
            }
        }
        data::resolve(&self.data, |c| self.views.contains_key(c))?;
        Ok(Manifest {
            compartments: self.compartments,
            grants: self.grants.into_iter().map(|(g, _)| g).collect(),
            data: self.data.into_iter().map(|(d, _)| d).collect(),
        })
    }
}

/// A `hypercalls=` value: what it names, plus what every compartment may use.
fn hypercall_set(line: usize, key: &str, value: &str) -> Result<HypercallSet> {
    let known = |h: &str| match Hypercall::from_manifest_name(h) {
        Some(_) => Ok(()),
        None => Err(format!(
            "unknown hypercall '{}' (known: {})",
            shown(h),
            known_hypercalls()
        )),
    };
    let names = list(line, key, value, Hypercall::MANIFEST.len(), known)?;
    let named = names
        .iter()
        .filter_map(|h| Hypercall::from_manifest_name(h));
    Ok(HypercallSet::MINIMAL.union(named.collect()))
}
