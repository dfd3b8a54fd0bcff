//! Conformance rows as text (docs/conformance.md): one case per line, a name and then
//! `key=value` fields, `#` starts a comment. Every field has a default:
//!
//! ```text
//! # name             fields (defaults: rax=0 rcx=1 bytes=0f01d4 entry=clone start=base place=mid)
//! switch-clone
//! prefix-rex-w       bytes=480f01d4
//! exit59-type1       entry=clone+type=1
//! nx-after-end       entry=next-nx place=end
//! tf-exit59          rcx=512 flags=tf
//! ```
//!
//! `cargo xtask conformance --cases FILE` adds the rows of FILE to the standard set
//! ([`STANDARD`]); the fixture receives them as its `cases` module.

use anyhow::{Context, Result, bail};
use std::collections::BTreeSet;
use std::path::Path;
use tessera_core::cases::{Case, EntryForm, MAX_BYTES, Placement, Tables};

/// The standard rows (compartments/conformance/standard.cases).
pub const STANDARD: &str = include_str!("../../../compartments/conformance/standard.cases");

/// One row: its name, where it came from, the case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub name: String,
    pub source: String,
    pub case: Case,
}

fn number(v: &str) -> Result<u64> {
    let v = v.replace('_', "");
    match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => v.parse(),
    }
    .with_context(|| format!("not a number: {v}"))
}

fn bytes(v: &str) -> Result<([u8; MAX_BYTES], u8)> {
    let digits: String = v
        .chars()
        .filter(|c| !matches!(c, '.' | '_' | ':'))
        .collect();
    if digits.is_empty() || digits.len() % 2 != 0 || digits.len() / 2 > MAX_BYTES {
        bail!("bytes: 1 to {MAX_BYTES} bytes as hex digit pairs, not `{v}`");
    }
    let mut out = [0u8; MAX_BYTES];
    for (i, pair) in digits.as_bytes().chunks(2).enumerate() {
        let text = std::str::from_utf8(pair)?;
        out[i] = u8::from_str_radix(text, 16).with_context(|| format!("bytes: `{text}`"))?;
    }
    Ok((out, (digits.len() / 2) as u8))
}

fn tables(v: &str) -> Result<Tables> {
    Ok(match v {
        "base" => Tables::Base,
        "clone" => Tables::Clone,
        "unbacked" => Tables::Unbacked,
        "misconfig" => Tables::Misconfig,
        "next-nx" => Tables::NextNx,
        "next-unmapped" => Tables::NextUnmapped,
        other => bail!("unknown tables `{other}`"),
    })
}

/// `none`, `zero`, or TABLES followed by `+type=N`, `+walk=N`, `+ad`, `+bit=N`, `+wide`.
fn entry(v: &str) -> Result<Option<EntryForm>> {
    let mut parts = v.split('+');
    let head = parts.next().unwrap_or_default();
    let mut form = match head {
        "none" => return Ok(None),
        "zero" => EntryForm {
            zero: true,
            ..EntryForm::plain(Tables::Base)
        },
        t => EntryForm::plain(tables(t)?),
    };
    for part in parts {
        match part.split_once('=') {
            Some(("type", n)) => {
                form.memory_type = u8::try_from(number(n)?)
                    .ok()
                    .filter(|t| *t < 8)
                    .context("type: 0 to 7")?
            }
            Some(("walk", n)) => {
                form.walk = u8::try_from(number(n)?)
                    .ok()
                    .filter(|w| (1..=8).contains(w))
                    .context("walk: 1 to 8 levels")?
            }
            Some(("bit", n)) => match number(n)? {
                b @ 7..=11 => form.reserved |= 1 << (b - 7),
                _ => bail!("bit: one of the reserved bits 7 to 11"),
            },
            None if part == "ad" => form.ad = true,
            None if part == "wide" => form.wide = true,
            _ => bail!("unknown entry modifier `{part}`"),
        }
    }
    Ok(Some(form))
}

fn place(v: &str) -> Result<Placement> {
    Ok(match v {
        "mid" => Placement::Middle,
        "end" => Placement::End,
        _ => match v.strip_prefix("straddle:") {
            Some(n) => Placement::Straddle(
                u8::try_from(number(n)?).context("straddle: bytes on the first page")?,
            ),
            None => bail!("place: mid, end or straddle:N"),
        },
    })
}

fn row(fields: &[&str]) -> Result<Case> {
    let (plain, len) = bytes("0f01d4")?;
    let mut case = Case {
        rax: 0,
        rcx: 1,
        bytes: plain,
        len,
        tf: false,
        movss: false,
        warm: false,
        entry: Some(EntryForm::plain(Tables::Clone)),
        start: Tables::Base,
        place: Placement::Middle,
    };
    for field in fields {
        let Some((key, value)) = field.split_once('=') else {
            bail!("`{field}` is not key=value");
        };
        match key {
            "rax" => case.rax = number(value)?,
            "rcx" => case.rcx = number(value)?,
            "bytes" => (case.bytes, case.len) = bytes(value)?,
            "entry" => case.entry = entry(value)?,
            "start" => case.start = tables(value)?,
            "place" => case.place = place(value)?,
            "flags" => {
                for flag in value.split(',') {
                    match flag {
                        "tf" => case.tf = true,
                        "movss" => case.movss = true,
                        "warm" => case.warm = true,
                        other => bail!("unknown flag `{other}` (tf, movss, warm)"),
                    }
                }
            }
            other => bail!("unknown field `{other}`"),
        }
    }
    if !matches!(
        case.start,
        Tables::Base | Tables::NextNx | Tables::NextUnmapped
    ) {
        bail!("start: base, next-nx or next-unmapped");
    }
    if let Placement::Straddle(n) = case.place {
        if n == 0 || n >= case.len {
            bail!(
                "straddle:{n} must leave bytes on both pages of a {}-byte instruction",
                case.len
            );
        }
    }
    Ok(case)
}

/// The rows of `text` (from `source`, for messages).
pub fn parse(text: &str, source: &str) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        let mut words = line.split_whitespace();
        let Some(name) = words.next() else {
            continue;
        };
        let fields: Vec<&str> = words.collect();
        let at = format!("{source}:{}", n + 1);
        let case = row(&fields).with_context(|| format!("{at}: row {name}"))?;
        rows.push(Row {
            name: name.to_owned(),
            source: at,
            case,
        });
    }
    Ok(rows)
}

/// The standard rows, then those of every file in `extra`; names must be unique.
pub fn load(extra: &[impl AsRef<Path>]) -> Result<Vec<Row>> {
    let mut rows = parse(STANDARD, "compartments/conformance/standard.cases")?;
    for path in extra {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the rows of {}", path.display()))?;
        rows.extend(parse(&text, &path.display().to_string())?);
    }
    let mut names = BTreeSet::new();
    for r in &rows {
        if !names.insert(r.name.as_str()) {
            bail!("{}: a second row named {}", r.source, r.name);
        }
    }
    if rows.len() > tessera_core::cases::MAX_CASES {
        bail!(
            "{} rows: at most {}",
            rows.len(),
            tessera_core::cases::MAX_CASES
        );
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_parse_with_defaults_and_fields() {
        let rows = parse(
            "# comment\n\nplain\nfull rax=0x40 rcx=0x1_0000_0200 bytes=2e.48.0f.01.d4 \
             entry=next-nx+type=0+walk=5+ad+bit=7+wide flags=tf,movss,warm \
             start=next-unmapped place=straddle:2 # trailing\n",
            "t",
        )
        .expect("parses");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].case.instruction(), &[0x0F, 0x01, 0xD4]);
        assert_eq!(rows[0].case.entry, Some(EntryForm::plain(Tables::Clone)));
        let c = rows[1].case;
        assert_eq!((c.rax, c.rcx), (0x40, 0x1_0000_0200));
        assert_eq!(c.instruction(), &[0x2E, 0x48, 0x0F, 0x01, 0xD4]);
        assert!(c.tf && c.movss && c.warm);
        assert_eq!(c.start, Tables::NextUnmapped);
        assert_eq!(c.place, Placement::Straddle(2));
        let e = c.entry.expect("entry");
        assert_eq!((e.tables, e.memory_type, e.walk), (Tables::NextNx, 0, 5));
        assert!(e.ad && e.wide && e.reserved == 1);
        assert_eq!(rows[1].source, "t:4");
    }

    #[test]
    fn bad_rows_name_their_line() {
        for bad in [
            "r bytes=0",
            "r flags=fast",
            "r entry=clone+bit=3",
            "r start=clone",
            "r place=straddle:3",
            "r nonsense",
        ] {
            let e = parse(bad, "f").expect_err(bad);
            assert!(format!("{e:#}").starts_with("f:1: row r"), "{e:#}");
        }
        assert!(load(&[] as &[&str]).is_ok(), "the standard rows parse");
    }
}
