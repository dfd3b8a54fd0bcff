//! The top-level `Cargo.toml` as `cargo xtask new` sees it: which packages exist, and
//! the same text with new `members` entries. The text is edited in place (one line per
//! entry, after the last `examples/` entry) so its comments and layout stay as they are;
//! the result is parsed again to check the entries landed in `workspace.members`.

use anyhow::{Context, Result, bail};
use std::fs;
use std::path::Path;

/// The `workspace.members` of a top-level `Cargo.toml`'s text.
pub fn members(text: &str) -> Result<Vec<String>> {
    let doc: toml::Table = toml::from_str(text).context("the workspace Cargo.toml")?;
    let list = doc
        .get("workspace")
        .and_then(|w| w.get("members"))
        .and_then(|m| m.as_array())
        .context("the workspace Cargo.toml has no workspace.members list")?;
    Ok(list
        .iter()
        .filter_map(|m| m.as_str().map(str::to_owned))
        .collect())
}

/// The package names of the workspace at `root` (each member's `package.name`).
pub fn package_names(root: &Path, members: &[String]) -> Vec<String> {
    members
        .iter()
        .filter_map(|m| fs::read_to_string(root.join(m).join("Cargo.toml")).ok())
        .filter_map(|text| toml::from_str::<toml::Table>(&text).ok())
        .filter_map(|doc| {
            let name = doc.get("package")?.get("name")?.as_str()?;
            Some(name.to_owned())
        })
        .collect()
}

/// `text` with `entries` added to `workspace.members`: after the last entry starting with
/// `examples/`, else before the list's closing bracket, indented like its neighbours.
pub fn add_members(text: &str, entries: &[String]) -> Result<String> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim_start().starts_with("members") && l.contains('['))
        .context("no `members = [` line in the workspace Cargo.toml")?;
    if lines[start].contains(']') {
        bail!("workspace.members is on one line; put one entry per line to let `new` add to it");
    }
    let end = (start + 1..lines.len())
        .find(|&i| lines[i].trim_start().starts_with(']'))
        .context("workspace.members has no closing `]` line")?;
    let last_example = (start + 1..end)
        .rev()
        .find(|&i| lines[i].trim_start().starts_with("\"examples/"));
    let after = last_example.unwrap_or(end - 1);
    let indent = match lines.get(start + 1..end).and_then(|l| l.first()) {
        Some(first) => &first[..first.len() - first.trim_start().len()],
        None => "    ",
    };
    let mut out: Vec<String> = lines[..=after].iter().map(|l| l.to_string()).collect();
    out.extend(entries.iter().map(|e| format!("{indent}\"{e}\",")));
    out.extend(lines[after + 1..].iter().map(|l| l.to_string()));
    let mut new_text = out.join("\n");
    if text.ends_with('\n') {
        new_text.push('\n');
    }
    let now = members(&new_text)?;
    if let Some(missing) = entries.iter().find(|e| !now.contains(e)) {
        bail!("adding {missing} to workspace.members failed; add the entries by hand");
    }
    Ok(new_text)
}
