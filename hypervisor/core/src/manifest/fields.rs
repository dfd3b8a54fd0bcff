//! The pieces of a line: `key=value`, lists, byte counts and names.

use super::error::shown;
use super::{CompartmentDecl, Concurrency, MAX_NAME_LEN, ManifestError, PAGE_SIZE, RESERVED_NAMES};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use tessera_abi::hypercall::Hypercall;

type Result<T> = core::result::Result<T, ManifestError>;

pub(super) fn err(line: usize, field: &str, problem: impl Into<String>) -> ManifestError {
    ManifestError::new(line, field, problem.into())
}

pub(super) fn key_value(line: usize, word: &str) -> Result<(&str, &str)> {
    match word.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key, value)),
        _ => Err(err(
            line,
            word,
            format!("expected key=value, not '{}'", shown(word)),
        )),
    }
}

/// A comma-separated list of distinct items, each passing `check`, at most `max` long.
pub(super) fn list(
    line: usize,
    key: &str,
    value: &str,
    max: usize,
    check: impl Fn(&str) -> core::result::Result<(), String>,
) -> Result<Vec<String>> {
    if value.is_empty() {
        return Err(err(line, key, "empty list"));
    }
    let mut items: Vec<String> = Vec::new();
    for item in value.split(',') {
        if item.is_empty() {
            return Err(err(
                line,
                key,
                "empty list entry (lists are comma-separated, without spaces)",
            ));
        }
        check(item).map_err(|p| err(line, key, p))?;
        if items.iter().any(|i| i == item) {
            return Err(err(line, key, format!("'{item}' is listed twice")));
        }
        if items.len() >= max {
            return Err(err(line, key, format!("more than {max} entries")));
        }
        items.push(item.into());
    }
    Ok(items)
}

/// A byte count: decimal digits, a multiple of [`PAGE_SIZE`], in `min..=max`.
pub(super) fn bytes(line: usize, key: &str, value: &str, min: u64, max: u64) -> Result<u64> {
    let n = decimal(line, key, value, "bytes")?;
    if n % PAGE_SIZE != 0 || !(min..=max).contains(&n) {
        let expected = format!("must be a multiple of {PAGE_SIZE} from {min} to {max} bytes");
        return Err(err(line, key, format!("{n} {expected}")));
    }
    Ok(n)
}

/// A count of `unit`s: decimal digits, in `min..=max`.
pub(super) fn count(
    line: usize,
    key: &str,
    value: &str,
    (min, max): (u64, u64),
    unit: &str,
) -> Result<u64> {
    let n = decimal(line, key, value, unit)?;
    if !(min..=max).contains(&n) {
        return Err(err(
            line,
            key,
            format!("{n} is not from {min} to {max} {unit}"),
        ));
    }
    Ok(n)
}

/// Decimal digits only (no sign, no `0x`, no separators) that fit in a u64.
fn decimal(line: usize, key: &str, value: &str, unit: &str) -> Result<u64> {
    value
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| value.parse::<u64>().ok())
        .flatten()
        .ok_or_else(|| {
            err(
                line,
                key,
                format!("'{}' is not a decimal number of {unit}", shown(value)),
            )
        })
}

/// 1 to `max` characters from `a-z 0-9 _ -`.
pub(super) fn check_name(name: &str, max: usize) -> core::result::Result<(), String> {
    if name.is_empty() {
        return Err("empty name".into());
    }
    if name.len() > max {
        return Err(format!(
            "name '{}' is longer than {max} characters",
            shown(name)
        ));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        return Err(format!(
            "name '{}' has a character outside a-z 0-9 _ -",
            shown(name)
        ));
    }
    Ok(())
}

pub(super) fn compartment_name(name: &str) -> core::result::Result<(), String> {
    check_name(name, MAX_NAME_LEN)?;
    if RESERVED_NAMES.contains(&name) {
        return Err(format!(
            "'{name}' is reserved and cannot name a compartment"
        ));
    }
    Ok(())
}

pub(super) fn known_hypercalls() -> String {
    let names: Vec<&str> = Hypercall::MANIFEST
        .iter()
        .filter_map(|h| h.manifest_name())
        .collect();
    names.join(", ")
}

/// `concurrency=` and `cpu=` (docs/gates.md "Manifest: `concurrency` and `cpu`").
pub(super) fn placement(
    decl: &mut CompartmentDecl,
    line: usize,
    (key, value): (&str, &str),
) -> Result<()> {
    if key == "concurrency" {
        decl.concurrency = match value {
            "serial" => Concurrency::Serial,
            "parallel" => Concurrency::Parallel,
            other => {
                let problem = format!("'{}' is not serial or parallel", shown(other));
                return Err(err(line, key, problem));
            }
        };
    } else if value == "all" {
        decl.cpu = super::EVERY_CPU;
    } else if !value.bytes().all(|b| b.is_ascii_digit()) || value.is_empty() {
        let problem = format!("'{}' is not a vCPU index (0-based) or all", shown(value));
        return Err(err(line, key, problem));
    } else {
        let most = crate::smp::MAX_CPUS as u64 - 1;
        let k = count(
            line,
            key,
            value,
            (0, most),
            "(a 0-based vCPU index, or all)",
        )?;
        // In range, so it fits.
        decl.cpu = u32::try_from(k).unwrap_or(0);
    }
    Ok(())
}
