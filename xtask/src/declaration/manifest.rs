//! The manifest a declaration becomes (docs/manifest.md, version 1), and the way back:
//! which declaration field a line and field of that manifest came from, so the kernel's
//! own parser can judge a declaration and its errors still name the declaration's field.

use super::Declaration;

impl Declaration {
    /// The manifest (docs/manifest.md, version 1): one `compartment` line per entry in
    /// order, then one `grant` line per grant.
    pub fn manifest_text(&self) -> String {
        let mut out = String::from("tessera-manifest 1\n");
        for c in &self.compartments {
            out.push_str("compartment ");
            out.push_str(&c.name);
            push_list(&mut out, "exports", &c.exports);
            push_list(&mut out, "calls", &c.calls);
            match &c.hypercalls {
                None => {}
                // An empty list still allows what is always allowed; writing nothing
                // would mean "all of them".
                Some(list) if list.is_empty() => out.push_str(" hypercalls=exit,panic"),
                Some(list) => push_list(&mut out, "hypercalls", list),
            }
            if let Some(restart) = &c.restart {
                out.push_str(&format!(" restart={restart}"));
            }
            if let Some(concurrency) = &c.concurrency {
                out.push_str(&format!(" concurrency={concurrency}"));
            }
            if let Some(cpu) = &c.cpu {
                out.push_str(&format!(" cpu={cpu}"));
            }
            for (key, value) in [
                ("max_restarts", c.max_restarts.map(u64::from)),
                ("stack", c.stack),
                ("heap", c.heap),
                ("watchdog", c.watchdog),
                ("max_depth", c.max_depth.map(u64::from)),
                ("console", c.console),
                ("call_buffer", c.call_buffer),
            ] {
                if let Some(value) = value {
                    out.push_str(&format!(" {key}={value}"));
                }
            }
            out.push('\n');
        }
        for g in &self.grants {
            out.push_str(&format!("grant {} size={}", g.name, g.size));
            for (compartment, access) in &g.access.0 {
                out.push_str(&format!(" {compartment}={access}"));
            }
            out.push('\n');
        }
        for d in &self.data {
            out.push_str(&format!("data {} compartment={}\n", d.name, d.compartment));
        }
        out
    }

    /// The declaration field behind `field` of line `line` of [`Self::manifest_text`].
    pub(super) fn field_of_line(&self, line: usize, field: &str) -> String {
        let n = self.compartments.len();
        match line.checked_sub(2) {
            Some(i) if i < n => match field {
                "compartment" => format!("compartment[{i}]"),
                key => format!("compartment[{i}].{key}"),
            },
            Some(i) if i - n < self.grants.len() => {
                let j = i - n;
                match field {
                    "name" | "size" => format!("grant[{j}].{field}"),
                    "grant" => format!("grant[{j}].access"),
                    compartment => format!("grant[{j}].access.{compartment}"),
                }
            }
            Some(i) if i - n - self.grants.len() < self.data.len() => {
                let k = i - n - self.grants.len();
                match field {
                    "name" | "compartment" => format!("data[{k}].{field}"),
                    _ => format!("data[{k}]"),
                }
            }
            _ => field.to_owned(),
        }
    }
}

fn push_list(out: &mut String, key: &str, items: &[String]) {
    if !items.is_empty() {
        out.push_str(&format!(" {key}={}", items.join(",")));
    }
}
